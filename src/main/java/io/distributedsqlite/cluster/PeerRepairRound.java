package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.storage.BucketPosition;
import io.distributedsqlite.storage.KeyHash;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.wire.RecordJson;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One anti-entropy exchange with one peer: compares this node's {@link DigestIndex} digests with
 * the peer's for the records both replicate, walks both nodes' listings of the keys and versions
 * of the buckets that differ (paged, in bucket and key order; {@link BucketDiff} decides what
 * moves), and pushes what this node has newer and pulls what the peer has newer, in batches
 * bounded in count and bytes, with the merge rule deciding. Throttled to REPAIR_RATE records per
 * second so it never starves client traffic. Records past the {@link PurgeHorizon} are neither
 * pushed nor pulled. Runs on the anti-entropy event loop; its counters are read there.
 */
final class PeerRepairRound {
  /** Most records per push or pull request (and at most PeerLimits.BATCH_BYTES of them). */
  static final int RECORD_BATCH = 500;
  /** Most records per page of a bucket listing this node asks for (and reads of its own). */
  static final int LISTING_PAGE = 10_000;
  /** Differing buckets compared per exchange: one listing request covers this many. */
  static final int BUCKET_GROUP = 64;

  private static final Logger log = LoggerFactory.getLogger(PeerRepairRound.class);

  private final Vertx vertx;
  private final NodeConfig config;
  private final Placement placement;
  private final DigestIndex digests;
  private final RecordReader reader;
  private final PeerClient client;
  private final RepairMeters meters;
  final int peer;
  final long startedAt;
  /** Buckets whose digests were compared (all of them once the peer's digests arrived). */
  int bucketsCompared;
  int bucketsDiffering;
  /** Differing buckets whose listings were walked to the end. */
  int bucketsWalked;
  long sent;
  long received;

  PeerRepairRound(Vertx vertx, NodeConfig config, Placement placement, DigestIndex digests, RecordReader reader, PeerClient client,
      RepairMeters meters, int peer) {
    this.vertx = vertx;
    this.config = config;
    this.placement = placement;
    this.digests = digests;
    this.reader = reader;
    this.client = client;
    this.meters = meters;
    this.peer = peer;
    this.startedAt = config.wallMillis();
  }

  private boolean peerRebuilding;

  /** Runs the exchange; the report says what it did. */
  Future<RepairReport> run() {
    return client.call(HttpMethod.GET, peer, "/internal/digests?peer=" + config.nodeId(), null)
        .compose(body -> {
          JsonObject answer = body.toJsonObject();
          // Nodes from before this field never said; they count as holding data.
          peerRebuilding = answer.getBoolean("rebuilding", false);
          long[] theirs = DigestCodec.decode(answer.getString("digests"));
          long[] mine = digests.digestsFor(peer);
          List<Integer> differing = new ArrayList<>();
          for (int b = 0; b < KeyHash.BUCKETS; b++) {
            if (theirs[b] != mine[b]) {
              differing.add(b);
            }
          }
          meters.bucketsCompared().increment(KeyHash.BUCKETS);
          bucketsCompared = KeyHash.BUCKETS;
          bucketsDiffering = differing.size();
          return compareBuckets(differing, 0);
        })
        .map(v -> {
          long now = config.wallMillis();
          return new RepairReport(peer, bucketsCompared, bucketsDiffering, sent, received, now - startedAt, now, peerRebuilding);
        });
  }

  /** Groups of buckets one after another, so a round never floods either node. */
  private Future<Void> compareBuckets(List<Integer> buckets, int index) {
    if (index >= buckets.size()) {
      return Future.succeededFuture();
    }
    List<Integer> group = buckets.subList(index, Math.min(buckets.size(), index + BUCKET_GROUP));
    return compareGroup(group)
        .compose(this::throttle)
        .compose(v -> {
          bucketsWalked += group.size();
          return compareBuckets(buckets, index + BUCKET_GROUP);
        });
  }

  /**
   * Compares one group of buckets: walks this node's and the peer's listings of it side by side in
   * {@link BucketPosition} order, a page of each at a time, and moves what differs after each
   * step. Neither side ever holds more than a page of listing, whatever the buckets hold.
   */
  private Future<Integer> compareGroup(List<Integer> buckets) {
    StringBuilder list = new StringBuilder();
    for (int b : buckets) {
      list.append(list.length() == 0 ? "" : ",").append(b);
    }
    return walk(new Walk(buckets, list.toString()), 0);
  }

  /** Where the two listings of a group are: what is fetched and not yet compared, and where each goes on. */
  private static final class Walk {
    final List<Integer> buckets;
    final String bucketList;
    List<Record> mine = new ArrayList<>();
    List<Record> theirs = new ArrayList<>();
    BucketPosition myNext;
    BucketPosition theirNext;
    boolean myDone;
    boolean theirDone;

    Walk(List<Integer> buckets, String bucketList) {
      this.buckets = buckets;
      this.bucketList = bucketList;
    }

    /** Up to where both listings are known: the lesser of the two positions listed so far (null: everything). */
    BucketPosition bound() {
      if (myDone) {
        return theirDone ? null : theirNext;
      }
      return theirDone || myNext.compareTo(theirNext) <= 0 ? myNext : theirNext;
    }
  }

  private Future<Integer> walk(Walk w, int moved) {
    PurgeHorizon horizon = PurgeHorizon.at(config);
    Future<Void> mineF = Future.succeededFuture();
    if (!w.myDone && w.mine.isEmpty()) {
      mineF = reader.bucketVersions(w.buckets, w.myNext, LISTING_PAGE).map(listing -> {
        for (Record r : listing.records()) {
          if (placement.isReplica(r.key(), peer) && digests.replicates(r.key()) && !horizon.isPast(r)) {
            w.mine.add(r);
          }
        }
        w.myNext = listing.next();
        w.myDone = listing.next() == null;
        return null;
      });
    }
    Future<Void> theirsF = Future.succeededFuture();
    if (!w.theirDone && w.theirs.isEmpty()) {
      StringBuilder uri = new StringBuilder("/internal/buckets?peer=").append(config.nodeId())
          .append("&buckets=").append(w.bucketList).append("&limit=").append(LISTING_PAGE);
      if (w.theirNext != null) {
        uri.append("&after_bucket=").append(w.theirNext.bucket())
            .append("&after_key=").append(URLEncoder.encode(w.theirNext.key(), StandardCharsets.UTF_8));
      }
      theirsF = client.page(HttpMethod.GET, peer, uri.toString(), null).map(page -> {
        w.theirs.addAll(page.records());
        w.theirNext = page.next();
        w.theirDone = page.next() == null;
        return null;
      });
    }
    return Future.all(mineF, theirsF).compose(cf -> {
      BucketDiff.Result diff = BucketDiff.between(w.mine, w.theirs, w.bound());
      w.mine = new ArrayList<>(w.mine.subList(diff.mineUsed(), w.mine.size()));
      w.theirs = new ArrayList<>(w.theirs.subList(diff.theirsUsed(), w.theirs.size()));
      int step = diff.push().size() + diff.pull().size();
      Future<Void> moves = step == 0 ? Future.succeededFuture()
          : pushKeys(diff.push()).compose(v -> pullKeys(diff.pull())).compose(v -> throttle(step));
      return moves.compose(v -> w.myDone && w.theirDone && w.mine.isEmpty() && w.theirs.isEmpty()
          ? Future.succeededFuture(moved + step)
          : walk(w, moved + step));
    });
  }

  /**
   * Sends this node's records of {@code keys} to the peer: read within {@link PeerLimits#BATCH_BYTES}
   * and {@link #RECORD_BATCH} records per request (the keys a read left out go first into the
   * next). A record the peer refuses on its own is skipped, counted and logged, not retried.
   */
  private Future<Void> pushKeys(List<String> keys) {
    if (keys.isEmpty()) {
      return Future.succeededFuture();
    }
    List<String> chunk = keys.subList(0, Math.min(keys.size(), RECORD_BATCH));
    List<String> after = keys.subList(chunk.size(), keys.size());
    return reader.records(chunk, PeerLimits.BATCH_BYTES, RecordJson::wireBytes, false).compose(served -> {
      List<String> rest = new ArrayList<>(served.unserved());
      rest.addAll(after);
      if (served.records().isEmpty()) {
        return pushKeys(served.unserved().isEmpty() ? rest : after);
      }
      return PeerBatches.deliver(served.records(), batch -> {
        long bytes = 0;
        for (Record r : batch) {
          bytes += RecordJson.wireBytes(r);
        }
        meters.batchBytes().record(bytes);
        return client.apply(peer, batch);
      }).compose(refused -> {
        for (Record r : refused) {
          log.warn("peer {} refused the record of key {} (version {}) on its own; skipped", peer, r.key(), r.version());
        }
        meters.recordsRefused().increment(refused.size());
        int delivered = served.records().size() - refused.size();
        sent += delivered;
        meters.recordsSent().increment(delivered);
        return pushKeys(rest);
      });
    });
  }

  /**
   * Fetches the peer's records of {@code keys} and applies them here, {@link #RECORD_BATCH} keys a
   * request; the peer answers within its byte budget and names the keys it left out, which are
   * asked for first in the next request.
   */
  private Future<Void> pullKeys(List<String> keys) {
    if (keys.isEmpty()) {
      return Future.succeededFuture();
    }
    List<String> chunk = keys.subList(0, Math.min(keys.size(), RECORD_BATCH));
    List<String> after = keys.subList(chunk.size(), keys.size());
    JsonArray body = new JsonArray(new ArrayList<>(chunk));
    PurgeHorizon horizon = PurgeHorizon.at(config);
    return client.page(HttpMethod.POST, peer, "/internal/records?max_bytes=" + PeerLimits.BATCH_BYTES, body.toBuffer())
        .compose(page -> {
          if (page.records().isEmpty() && !page.unserved().isEmpty()) {
            return Future.failedFuture("peer " + peer + " answered none of " + page.unserved().size() + " keys to /internal/records");
          }
          List<String> rest = new ArrayList<>(page.unserved());
          rest.addAll(after);
          List<Record> records = new ArrayList<>();
          for (Record r : page.records()) {
            if (!horizon.isPast(r)) {
              records.add(r);
            }
          }
          if (records.isEmpty()) {
            return pullKeys(rest);
          }
          received += records.size();
          meters.recordsReceived().increment(records.size());
          return vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(records))
              .compose(m -> pullKeys(rest));
        });
  }

  /** Waits long enough that repair stays under REPAIR_RATE records per second. */
  private Future<Void> throttle(int moved) {
    long delayMs = moved * 1000L / config.repairRate();
    if (delayMs < 1) {
      return Future.succeededFuture();
    }
    Promise<Void> p = Promise.promise();
    vertx.setTimer(delayMs, id -> p.complete());
    return p.future();
  }
}
