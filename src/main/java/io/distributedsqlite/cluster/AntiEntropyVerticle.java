package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.cluster.NodeHealth.Standing;
import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.wire.RecordJson;
import io.distributedsqlite.storage.BucketPosition;
import io.distributedsqlite.storage.KeyHash;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.Version;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes replicas converge whatever happened: periodically (ANTI_ENTROPY_INTERVAL, and right after
 * start-up and whenever a peer comes back) it compares this node's {@link DigestIndex} digests
 * with each peer's for the records both replicate, walks both nodes' listings of the keys and
 * versions of the buckets that differ (paged, in bucket and key order), and pulls what the peer
 * has newer and pushes what it has newer, in batches bounded in count and bytes, with the merge
 * rule deciding. Throttled to REPAIR_RATE records per second so it never starves
 * client traffic. Also purges tombstones older than TOMBSTONE_GRACE.
 *
 * <p>A stale or checking node runs no round (it must not push data whose deletes may have been
 * purged). A rebuilding node (empty database) runs its start-up round at once and retries it
 * quickly; when every peer has either completed a round with it or is seen down, it is rebuilt:
 * it answers reads from then on, and the database remembers it.
 */
public final class AntiEntropyVerticle extends VerticleBase {
  public static final String REPAIR_NOW_ADDRESS = "repair.now";
  public static final String INFO_ADDRESS = "repair.info";
  /** Most records per push or pull request (and at most PeerLimits.BATCH_BYTES of them). */
  static final int RECORD_BATCH = 500;
  /** Most records per page of a bucket listing this node asks for (and reads of its own). */
  static final int LISTING_PAGE = 10_000;
  /** Differing buckets compared per exchange: one listing request covers this many. */
  static final int BUCKET_GROUP = 64;

  private static final Logger log = LoggerFactory.getLogger(AntiEntropyVerticle.class);

  private final NodeConfig config;
  private final Ring ring;
  private final DigestIndex digests;
  private final RecordReader reader;
  private final MeterRegistry registry;
  private final NodeHealth health;
  private final Map<Integer, Future<RepairReport>> running = new HashMap<>();
  private final Map<Integer, RepairReport> last = new HashMap<>();
  private final AtomicLongArray lastCompleted;
  private final boolean[] repairedSinceStart;
  private PeerClient client;
  private PeerView peers;
  private Counter bucketsCompared;
  private Counter recordsSent;
  private Counter recordsReceived;
  private Counter failures;
  private Counter recordsRefused;
  private DistributionSummary batchBytes;
  private Timer duration;

  public AntiEntropyVerticle(NodeConfig config, Ring ring, DigestIndex digests, RecordReader reader,
      MeterRegistry registry, NodeHealth health) {
    this.config = config;
    this.ring = ring;
    this.digests = digests;
    this.reader = reader;
    this.registry = registry;
    this.health = health;
    this.lastCompleted = new AtomicLongArray(config.clusterSize());
    this.repairedSinceStart = new boolean[config.clusterSize()];
  }

  /** Version stamps older than this belong to tombstones past the grace period. */
  public static long graceHorizon(NodeConfig config) {
    long millis = config.wallMillis() - config.tombstoneGrace().toMillis();
    return Version.of(Math.max(0, millis), 0, 0).hlc();
  }

  @Override
  public Future<?> start() {
    client = new PeerClient(vertx, config);
    bucketsCompared = Counter.builder("dsqlite_repair_buckets_compared").register(registry);
    recordsSent = Counter.builder("dsqlite_repair_records_sent").register(registry);
    recordsReceived = Counter.builder("dsqlite_repair_records_received").register(registry);
    failures = Counter.builder("dsqlite_repair_failures").description("Anti-entropy rounds with a peer that failed").register(registry);
    recordsRefused = Counter.builder("dsqlite_repair_records_refused")
        .description("Records a peer refused on their own (too large or invalid there); skipped").register(registry);
    batchBytes = DistributionSummary.builder("dsqlite_peer_batch_bytes").tag("kind", "repair").baseUnit("bytes")
        .description("Bytes of records in one request to a peer").register(registry);
    duration = Timer.builder("dsqlite_repair_duration").description("One anti-entropy round with one peer").register(registry);
    for (int p = 0; p < config.clusterSize(); p++) {
      int peer = p;
      if (peer != config.nodeId()) {
        Gauge.builder("dsqlite_repair_last_completed_timestamp_seconds", lastCompleted, a -> a.get(peer) / 1000.0)
            .tag("peer", Integer.toString(peer)).description("Epoch seconds of the last completed repair with the peer")
            .register(registry);
      }
    }
    peers = PeerView.follow(vertx, config.clusterSize());
    peers.onChange(status -> {
      if (status.up()) {
        repair(status.peer()); // a failure is counted and logged by repair()
      } else {
        checkRebuilt();
      }
    });
    vertx.eventBus().consumer(REPAIR_NOW_ADDRESS, m -> repairAll().onSuccess(m::reply).onFailure(t -> m.fail(500, t.getMessage())));
    vertx.eventBus().consumer(INFO_ADDRESS, m -> m.reply(info()));
    if (config.clusterSize() > 1) {
      vertx.setPeriodic(config.antiEntropyInterval().toMillis(), id -> repairAll());
      // Start-up: converge as soon as peers answer; retried quickly until one round succeeded.
      vertx.setTimer(rebuilding() ? 1 : 1000, id -> startupRepair());
    }
    vertx.setTimer(5_000, id -> purgeTombstones());
    // A tenth of the grace (1 s .. 10 min): a tombstone is gone soon after its grace ran out.
    long purgeEvery = Math.max(1000, Math.min(TimeUnit.MINUTES.toMillis(10), config.tombstoneGrace().toMillis() / 10));
    vertx.setPeriodic(purgeEvery, id -> purgeTombstones());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    client.close();
    return Future.succeededFuture();
  }

  private void startupRepair() {
    repairAll().onComplete(ar -> {
      for (int p = 0; p < config.clusterSize(); p++) {
        if (p != config.nodeId() && !repairedSinceStart[p]) {
          long retry = rebuilding() ? Math.max(500, config.probeInterval().toMillis()) : 2000;
          vertx.setTimer(retry, id -> startupRepair());
          return;
        }
      }
    });
  }

  private boolean rebuilding() {
    return health.standing() == Standing.REBUILDING;
  }

  /**
   * Ends the rebuild once every peer has completed a round with this node since it started, or
   * is seen down (so a node that cannot reach every peer does not wait for ever).
   */
  private void checkRebuilt() {
    if (!rebuilding()) {
      return;
    }
    List<Integer> repairedWith = new ArrayList<>();
    List<Integer> down = new ArrayList<>();
    for (int p = 0; p < config.clusterSize(); p++) {
      if (p == config.nodeId()) {
        continue;
      }
      if (!repairedSinceStart[p] && peers.isUp(p)) {
        return;
      }
      (repairedSinceStart[p] ? repairedWith : down).add(p);
    }
    long now = config.wallMillis();
    if (!health.finishRebuild()) {
      return;
    }
    log.info("rebuilt: the start-up repair round completed with peers {} (down: {}); answering reads", repairedWith, down);
    vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.PutMeta(SqliteStore.META_REBUILT, Long.toString(now)))
        .onFailure(t -> log.warn("could not record the rebuild: {}", t.getMessage()));
  }

  /**
   * One round with every other node, one peer after the other: after the first, the next peers'
   * digests mostly match already, so an empty replica is not sent every record RF-1 times.
   */
  public Future<JsonObject> repairAll() {
    JsonArray peers = new JsonArray();
    Future<Void> chain = Future.succeededFuture();
    for (int p = 0; p < config.clusterSize(); p++) {
      int peer = p;
      if (peer == config.nodeId()) {
        continue;
      }
      chain = chain.compose(v -> repair(peer).map(RepairReport::toJson)
          .otherwise(t -> new JsonObject().put("peer", peer).put("error", String.valueOf(t.getMessage())))
          .map(peers::add)
          .mapEmpty());
    }
    return chain.map(v -> new JsonObject().put("node_id", config.nodeName()).put("peers", peers));
  }

  /** A repair round with one peer; joins the round already running, if any. */
  public Future<RepairReport> repair(int peer) {
    if (!health.servesData()) {
      return Future.failedFuture("this node serves no repair data: " + health.reason());
    }
    if (!peers.isUp(peer)) {
      return Future.failedFuture("peer " + peer + " is down");
    }
    Future<RepairReport> current = running.get(peer);
    if (current != null) {
      return current;
    }
    long start = config.wallMillis();
    Round round = new Round(peer);
    Future<RepairReport> f = client.call(HttpMethod.GET, peer, "/internal/digests?peer=" + config.nodeId(), null)
        .compose(body -> {
          long[] theirs = decodeDigests(body.toJsonObject().getString("digests"));
          long[] mine = digests.digestsFor(peer);
          List<Integer> differing = new ArrayList<>();
          for (int b = 0; b < KeyHash.BUCKETS; b++) {
            if (theirs[b] != mine[b]) {
              differing.add(b);
            }
          }
          bucketsCompared.increment(KeyHash.BUCKETS);
          round.differing = differing.size();
          return compareBuckets(round, differing, 0);
        })
        .map(v -> {
          long now = config.wallMillis();
          RepairReport r = new RepairReport(peer, KeyHash.BUCKETS, round.differing, round.sent, round.received, now - start, now);
          duration.record(now - start, TimeUnit.MILLISECONDS);
          last.put(peer, r);
          lastCompleted.set(peer, now);
          repairedSinceStart[peer] = true;
          checkRebuilt();
          if (r.recordsSent() + r.recordsReceived() > 0) {
            log.info("repair with peer {}: {} buckets differed, {} records sent, {} received in {} ms",
                peer, r.bucketsDiffering(), r.recordsSent(), r.recordsReceived(), r.durationMs());
          }
          return r;
        });
    running.put(peer, f);
    f.onComplete(ar -> running.remove(peer)).onFailure(t -> {
      failures.increment();
      log.warn("repair with peer {} failed: {}", peer, t.getMessage());
    });
    return f;
  }

  private static final class Round {
    final int peer;
    int differing;
    long sent;
    long received;

    Round(int peer) {
      this.peer = peer;
    }
  }

  /** Groups of buckets one after another, so a round never floods either node. */
  private Future<Void> compareBuckets(Round round, List<Integer> buckets, int index) {
    if (index >= buckets.size()) {
      return Future.succeededFuture();
    }
    List<Integer> group = buckets.subList(index, Math.min(buckets.size(), index + BUCKET_GROUP));
    return compareGroup(round, group)
        .compose(moved -> throttle(moved))
        .compose(v -> compareBuckets(round, buckets, index + BUCKET_GROUP));
  }

  /**
   * Compares one group of buckets: walks this node's and the peer's listings of it side by side in
   * {@link BucketPosition} order, a page of each at a time, and moves what differs after each
   * step. Neither side ever holds more than a page of listing, whatever the buckets hold.
   */
  private Future<Integer> compareGroup(Round round, List<Integer> buckets) {
    StringBuilder list = new StringBuilder();
    for (int b : buckets) {
      list.append(list.length() == 0 ? "" : ",").append(b);
    }
    return walk(round, new Walk(buckets, list.toString()), 0);
  }

  /** Where the two listings of a group are: what is fetched and not yet compared, and where each goes on. */
  private static final class Walk {
    final List<Integer> buckets;
    final String bucketList;
    final ArrayDeque<Record> mine = new ArrayDeque<>();
    final ArrayDeque<Record> theirs = new ArrayDeque<>();
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

  private Future<Integer> walk(Round round, Walk w, int moved) {
    int peer = round.peer;
    long horizon = graceHorizon(config);
    Future<Void> mineF = Future.succeededFuture();
    if (!w.myDone && w.mine.isEmpty()) {
      mineF = reader.bucketVersions(w.buckets, w.myNext, LISTING_PAGE).map(listing -> {
        for (Record r : listing.records()) {
          if (ring.isReplica(r.key(), peer) && digests.replicates(r.key()) && !(r.tombstone() && r.version().hlc() < horizon)) {
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
      BucketPosition bound = w.bound();
      List<String> push = new ArrayList<>();
      List<String> pull = new ArrayList<>();
      while (true) {
        Record m = upTo(w.mine, bound);
        Record t = upTo(w.theirs, bound);
        if (m == null && t == null) {
          break;
        }
        int c = m == null ? 1 : t == null ? -1 : BucketPosition.of(m.key()).compareTo(BucketPosition.of(t.key()));
        if (c < 0) {
          push.add(w.mine.poll().key()); // they lack it
        } else if (c > 0) {
          pull.add(w.theirs.poll().key()); // we lack it
        } else {
          w.mine.poll();
          w.theirs.poll();
          if (m.version().isNewerThan(t.version())) {
            push.add(m.key());
          } else if (t.version().isNewerThan(m.version())) {
            pull.add(t.key());
          }
        }
      }
      int step = push.size() + pull.size();
      Future<Void> moves = step == 0 ? Future.succeededFuture()
          : pushKeys(round, push).compose(v -> pullKeys(round, pull)).compose(v -> throttle(step));
      return moves.compose(v -> w.myDone && w.theirDone && w.mine.isEmpty() && w.theirs.isEmpty()
          ? Future.succeededFuture(moved + step)
          : walk(round, w, moved + step));
    });
  }

  /** The first record of a listing if it is at or before {@code bound} (null: no bound). */
  private static Record upTo(ArrayDeque<Record> listing, BucketPosition bound) {
    Record r = listing.peek();
    return r == null || bound == null || BucketPosition.of(r.key()).compareTo(bound) <= 0 ? r : null;
  }

  /**
   * Sends this node's records of {@code keys} to the peer: read within {@link PeerLimits#BATCH_BYTES}
   * and {@link #RECORD_BATCH} records per request (the keys a read left out go first into the
   * next). A record the peer refuses on its own is skipped, counted and logged, not retried.
   */
  private Future<Void> pushKeys(Round round, List<String> keys) {
    if (keys.isEmpty()) {
      return Future.succeededFuture();
    }
    List<String> chunk = keys.subList(0, Math.min(keys.size(), RECORD_BATCH));
    List<String> after = keys.subList(chunk.size(), keys.size());
    return reader.records(chunk, PeerLimits.BATCH_BYTES, RecordJson::wireBytes, false).compose(served -> {
      List<String> rest = new ArrayList<>(served.unserved());
      rest.addAll(after);
      if (served.records().isEmpty()) {
        return pushKeys(round, served.unserved().isEmpty() ? rest : after);
      }
      return PeerBatches.deliver(served.records(), batch -> {
        long bytes = 0;
        for (Record r : batch) {
          bytes += RecordJson.wireBytes(r);
        }
        batchBytes.record(bytes);
        return client.apply(round.peer, batch);
      }).compose(refused -> {
        for (Record r : refused) {
          log.warn("peer {} refused the record of key {} (version {}) on its own; skipped", round.peer, r.key(), r.version());
        }
        recordsRefused.increment(refused.size());
        int sent = served.records().size() - refused.size();
        round.sent += sent;
        recordsSent.increment(sent);
        return pushKeys(round, rest);
      });
    });
  }

  /**
   * Fetches the peer's records of {@code keys} and applies them here, {@link #RECORD_BATCH} keys a
   * request; the peer answers within its byte budget and names the keys it left out, which are
   * asked for first in the next request.
   */
  private Future<Void> pullKeys(Round round, List<String> keys) {
    if (keys.isEmpty()) {
      return Future.succeededFuture();
    }
    List<String> chunk = keys.subList(0, Math.min(keys.size(), RECORD_BATCH));
    List<String> after = keys.subList(chunk.size(), keys.size());
    JsonArray body = new JsonArray(new ArrayList<>(chunk));
    long horizon = graceHorizon(config);
    return client.page(HttpMethod.POST, round.peer, "/internal/records?max_bytes=" + PeerLimits.BATCH_BYTES, body.toBuffer())
        .compose(page -> {
          if (page.records().isEmpty() && !page.unserved().isEmpty()) {
            return Future.failedFuture("peer " + round.peer + " answered none of " + page.unserved().size() + " keys to /internal/records");
          }
          List<String> rest = new ArrayList<>(page.unserved());
          rest.addAll(after);
          List<Record> records = new ArrayList<>();
          for (Record r : page.records()) {
            if (!(r.tombstone() && r.version().hlc() < horizon)) {
              records.add(r);
            }
          }
          if (records.isEmpty()) {
            return pullKeys(round, rest);
          }
          round.received += records.size();
          recordsReceived.increment(records.size());
          return vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(records))
              .compose(m -> pullKeys(round, rest));
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

  private void purgeTombstones() {
    vertx.eventBus().<JsonObject>request(StorageVerticle.ADDRESS, new StorageCommand.PurgeTombstones(graceHorizon(config)))
        .onSuccess(m -> {
          health.purgedUpTo(new Version(m.body().getLong("purged_up_to"), 0).millis());
          if (m.body().getInteger("purged") > 0) {
            log.info("purged {} tombstones older than TOMBSTONE_GRACE ({})", m.body().getInteger("purged"), config.tombstoneGrace());
          }
        });
  }

  private JsonObject info() {
    JsonObject out = new JsonObject();
    last.forEach((peer, r) -> out.put(Integer.toString(peer), r.toJson()));
    return out;
  }

  public static String encodeDigests(long[] digests) {
    Buffer b = Buffer.buffer(digests.length * 8);
    for (long d : digests) {
      b.appendLong(d);
    }
    return Base64.getEncoder().encodeToString(b.getBytes());
  }

  static long[] decodeDigests(String base64) {
    byte[] bytes = Base64.getDecoder().decode(base64);
    Buffer b = Buffer.buffer(bytes);
    long[] out = new long[bytes.length / 8];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.getLong(i * 8);
    }
    if (out.length != KeyHash.BUCKETS) {
      throw new IllegalStateException("peer sent " + out.length + " digests, expected " + KeyHash.BUCKETS);
    }
    return out;
  }
}
