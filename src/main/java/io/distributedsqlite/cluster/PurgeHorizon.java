package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.Version;

/**
 * The purge horizon, TOMBSTONE_GRACE before now: a tombstone whose version is older, or a record
 * whose TTL ran out before it, is past the horizon. {@link HorizonPurger} removes such records, and
 * repair never serves one to a peer nor takes one from a peer: replicas purge at slightly different
 * moments, and a replica that purged a record must not be sent it back by one that has not yet
 * (nor the two trade it round after round).
 *
 * <p>Why the grace for expired records too: a replica that missed the TTL write still holds an
 * older version of the key; until every replica has the TTL version, purging it would let repair
 * bring the older one back, exactly as purging a tombstone early would undo a delete.
 */
public record PurgeHorizon(long tombstonesBeforeHlc, long expiredBeforeMillis) {

  /** The horizon as of this node's wall clock now. */
  public static PurgeHorizon at(NodeConfig config) {
    long millis = Math.max(0, config.wallMillis() - config.tombstoneGrace().toMillis());
    return new PurgeHorizon(Version.of(millis, 0, 0).hlc(), millis);
  }

  /** Whether {@code r} is past the horizon: to be purged, never served to or pulled from repair. */
  public boolean isPast(Record r) {
    if (r.tombstone()) {
      return r.version().hlc() < tombstonesBeforeHlc;
    }
    return r.expiresAt() > 0 && r.expiresAt() < expiredBeforeMillis;
  }
}
