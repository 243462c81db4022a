package io.distributedsqlite.cluster;

import io.distributedsqlite.storage.ChangeListener;
import io.distributedsqlite.storage.KeyHash;
import io.distributedsqlite.storage.Record;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Anti-entropy digests, kept current on every committed change instead of scanning the table.
 * For each peer P there are {@link KeyHash#BUCKETS} digests over the records this node and P both
 * replicate; bucket b covers one contiguous slice of the hash space. A digest is the XOR of an
 * entry hash of (key, version, tombstone) over its records, so a change updates it in O(RF) with
 * {@code digest ^= h(old) ^ h(new)}, and two replicas with the same records have equal digests.
 *
 * <p>Written by the storage worker (a {@link ChangeListener}), read by the anti-entropy loop and
 * the internal API: each bucket is an atomic long, which is all the consistency a digest
 * comparison needs (a bucket caught mid-change simply differs this round and is compared again).
 *
 * <p>Only records of keys this node replicates enter the digests: a peer's digests hold only keys
 * that peer replicates, so anything else would make a bucket differ every round and be listed
 * and compared again forever. A record of a key this node does not replicate is a <em>stray</em>
 * (the copy a legacy versionless {@code /internal/set} keeps on the node that received it); the
 * index counts them instead ({@link #strays()}), and {@link StrayCleanup} removes them after
 * STRAY_GRACE. Whether a key is a stray is decided by ring membership at the time of the change,
 * not stored with the record.
 */
public final class DigestIndex implements ChangeListener {
  private final int self;
  private volatile Placement placement;
  /** Per peer ordinal, made when a first shared key arrives. */
  private final AtomicReferenceArray<AtomicLongArray> byPeer =
      new AtomicReferenceArray<>(io.distributedsqlite.config.NodeConfig.MAX_ORDINAL + 1);
  private final AtomicLong strays = new AtomicLong();

  public DigestIndex(int self, Placement placement) {
    this.self = self;
    this.placement = placement;
  }

  /** An index over one ring (no membership change in progress). */
  public DigestIndex(int self, Ring ring) {
    this(self, new Placement(ring));
  }

  /**
   * Forgets every digest and stray count and takes the placement of a new membership view; the
   * caller then feeds every stored record again, with nothing changing meanwhile
   * ({@link io.distributedsqlite.storage.StorageCommand.Reindex}).
   */
  public void reset(Placement next) {
    placement = next;
    for (int p = 0; p < byPeer.length(); p++) {
      byPeer.set(p, null);
    }
    strays.set(0);
  }

  /** Hash of what must agree between replicas: key, version and tombstone flag. */
  public static long entryHash(Record r) {
    long h = KeyHash.of(r.key());
    h ^= KeyHash.mix(r.version().hlc() * 0x9E3779B97F4A7C15L + r.version().nodeId());
    if (r.tombstone()) {
      h = KeyHash.mix(h ^ 0x5bd1e995L);
    }
    return KeyHash.mix(h);
  }

  @Override
  public void changed(Record previous, Record current) {
    String key = previous != null ? previous.key() : current.key();
    int[] replicas = placement.replicasFor(key).all();
    if (!contains(replicas, self)) {
      strays.addAndGet((current == null ? 0 : 1) - (previous == null ? 0 : 1));
      return;
    }
    long delta = (previous == null ? 0 : entryHash(previous)) ^ (current == null ? 0 : entryHash(current));
    int bucket = KeyHash.bucket(key);
    for (int peer : replicas) {
      if (peer != self) {
        AtomicLongArray digests = byPeer.get(peer);
        if (digests == null) {
          byPeer.compareAndSet(peer, null, new AtomicLongArray(KeyHash.BUCKETS));
          digests = byPeer.get(peer);
        }
        digests.accumulateAndGet(bucket, delta, (a, b) -> a ^ b);
      }
    }
  }

  private static boolean contains(int[] ids, int id) {
    for (int i : ids) {
      if (i == id) {
        return true;
      }
    }
    return false;
  }

  /** Records held here whose key this node does not replicate (tombstones included). */
  public long strays() {
    return strays.get();
  }

  /** Whether this node replicates {@code key}; a record of any other key is a stray. */
  public boolean replicates(String key) {
    return placement.isReplica(key, self);
  }

  /** A copy of the digests this node keeps for the records it shares with {@code peer}. */
  public long[] digestsFor(int peer) {
    AtomicLongArray a = byPeer.get(peer);
    long[] out = new long[KeyHash.BUCKETS];
    for (int i = 0; a != null && i < out.length; i++) {
      out[i] = a.get(i);
    }
    return out;
  }
}
