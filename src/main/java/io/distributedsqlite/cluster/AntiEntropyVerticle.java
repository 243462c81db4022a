package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.cluster.NodeHealth.Standing;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes replicas converge whatever happened: periodically (ANTI_ENTROPY_INTERVAL, and right after
 * start-up and whenever a peer comes back) it runs a {@link PeerRepairRound} with each peer, one
 * peer after the other. An operator starts a round with every peer through
 * {@link #REPAIR_NOW_ADDRESS} and follows it through {@link #PROGRESS_ADDRESS}.
 *
 * <p>A stale or checking node runs no round (it must not push data whose deletes may have been
 * purged). A rebuilding node (empty database) runs its start-up round at once and retries it
 * quickly; when every peer has either completed a round with it or is seen down, and another
 * replica of each of its ranges completed one, it is rebuilt: it answers reads from then on, and
 * the database remembers it.
 */
public final class AntiEntropyVerticle extends VerticleBase {
  /**
   * Starts a round with every peer, or joins the one running. The body is null or
   * {@code {"wait_ms": n}}. The reply carries a {@link #STATUS_HEADER}: 200 with the round's report
   * when it completed within {@code wait_ms}, else 202 with its progress (as {@link #PROGRESS_ADDRESS}).
   */
  public static final String REPAIR_NOW_ADDRESS = "repair.now";
  /** Replies the progress of the round running (if any) and the last completed round's summary. */
  public static final String PROGRESS_ADDRESS = "repair.progress";
  public static final String INFO_ADDRESS = "repair.info";
  public static final String STATUS_HEADER = "status";

  private static final Logger log = LoggerFactory.getLogger(AntiEntropyVerticle.class);

  private final NodeConfig config;
  /** The view sent with every request to a peer. */
  private final CurrentView currentView;
  private final DigestIndex digests;
  private final RecordReader reader;
  private final MeterRegistry registry;
  private final NodeHealth health;
  private final Map<Integer, Running> running = new HashMap<>();
  private final Map<Integer, RepairReport> last = new HashMap<>();
  private final AtomicLongArray lastCompleted;
  private final boolean[] repairedSinceStart;
  /** Per peer: its last completed round since start-up found it rebuilding (empty) too. */
  private final boolean[] peerWasRebuilding;
  private PeerClient client;
  private PeerView peers;
  private RepairMeters meters;
  private Counter failures;
  private Timer duration;
  /** The round with every peer under way (null: none), and the last one completed. */
  private RepairProgress round;
  private Future<JsonObject> roundDone;
  private RepairProgress lastRound;

  /** An exchange with one peer under way: callers for the same peer join it. */
  private record Running(PeerRepairRound round, Future<RepairReport> report) {}

  public AntiEntropyVerticle(NodeConfig config, DigestIndex digests, RecordReader reader,
      MeterRegistry registry, NodeHealth health, CurrentView currentView) {
    this.config = config;
    this.currentView = currentView;
    this.digests = digests;
    this.reader = reader;
    this.registry = registry;
    this.health = health;
    this.lastCompleted = new AtomicLongArray(NodeConfig.MAX_ORDINAL + 1);
    this.repairedSinceStart = new boolean[NodeConfig.MAX_ORDINAL + 1];
    this.peerWasRebuilding = new boolean[NodeConfig.MAX_ORDINAL + 1];
  }

  @Override
  public Future<?> start() {
    client = new PeerClient(vertx, config, currentView);
    meters = RepairMeters.register(registry);
    failures = Counter.builder("dsqlite_repair_failures").description("Anti-entropy rounds with a peer that failed").register(registry);
    duration = Timer.builder("dsqlite_repair_duration").description("One anti-entropy round with one peer").register(registry);
    for (int peer : others()) {
      registerGauge(peer);
    }
    currentView.onChange(v -> {
      for (MembershipView.Member m : v.peersOf(config.nodeId())) {
        registerGauge(m.ordinal());
      }
    });
    peers = PeerView.follow(vertx);
    peers.onChange(status -> {
      if (status.up()) {
        repair(status.peer()); // a failure is counted and logged by repair()
      } else {
        checkRebuilt();
      }
    });
    vertx.eventBus().<JsonObject>consumer(REPAIR_NOW_ADDRESS, this::repairNow);
    vertx.eventBus().consumer(PROGRESS_ADDRESS, m -> m.reply(progress()));
    vertx.eventBus().consumer(INFO_ADDRESS, m -> m.reply(info()));
    vertx.setPeriodic(config.antiEntropyInterval().toMillis(), id -> repairAll());
    if (!others().isEmpty()) {
      // Start-up: converge as soon as peers answer; retried quickly until one round succeeded.
      vertx.setTimer(rebuilding() ? 1 : 1000, id -> startupRepair());
    }
    return Future.succeededFuture();
  }

  /**
   * The members this node repairs with: every member of its view but itself, those that left and
   * a joining one (it streams its ranges; repairing with it too would send them twice). A node
   * that is joining, or not yet a member, repairs with no one.
   */
  private List<Integer> others() {
    List<Integer> out = new ArrayList<>();
    MembershipView view = currentView.view();
    MembershipView.State mine = view.stateOf(config.nodeId());
    if (mine == null || mine == MembershipView.State.JOINING) {
      return out;
    }
    for (MembershipView.Member m : view.peersOf(config.nodeId())) {
      if (m.state() != MembershipView.State.JOINING) {
        out.add(m.ordinal());
      }
    }
    return out;
  }

  private final java.util.Set<Integer> gauges = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private void registerGauge(int peer) {
    if (gauges.add(peer)) {
      Gauge.builder("dsqlite_repair_last_completed_timestamp_seconds", lastCompleted, a -> a.get(peer) / 1000.0)
          .tag("peer", Integer.toString(peer)).description("Epoch seconds of the last completed repair with the peer")
          .register(registry);
    }
  }

  @Override
  public Future<?> stop() {
    client.close();
    return Future.succeededFuture();
  }

  private void startupRepair() {
    repairAll().onComplete(ar -> {
      for (int p : others()) {
        if (!repairedSinceStart[p]) {
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
   * Ends the rebuild once every peer has completed a round with this node since it started or is
   * seen down (so a node that cannot reach every peer does not wait for ever), and every token
   * range this node replicates had at least one other replica among those that completed a round.
   * Without that second condition an empty node whose peers were all unreachable at start-up
   * (a whole cluster restarting, a partition) would call itself rebuilt with nothing and answer
   * 404 for keys its peers hold.
   */
  private void checkRebuilt() {
    MembershipView.State mine = currentView.view().stateOf(config.nodeId());
    // A joining node is rebuilt by streaming its ranges, not by this rule.
    if (!rebuilding() || mine != MembershipView.State.NORMAL) {
      return;
    }
    List<Integer> repairedWith = new ArrayList<>();
    List<Integer> down = new ArrayList<>();
    for (int p : others()) {
      if (!repairedSinceStart[p] && peers.isUp(p)) {
        return;
      }
      (repairedSinceStart[p] ? repairedWith : down).add(p);
    }
    java.util.SortedSet<Integer> awaited = uncoveredPeers();
    if (!awaited.isEmpty()) {
      String reason = NodeHealth.REBUILDING_REASON + "; waiting for peers " + awaited
          + ": for some of its ranges no other replica that holds data has completed a repair round with it yet";
      if (!reason.equals(health.reason())) {
        log.warn("still rebuilding: waiting for peers {}; no other replica of some of this node's ranges that holds data "
            + "has completed a repair round with it (completed: {})", awaited, repairedWith);
        health.rebuildingReason(reason);
      }
      return;
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
   * The other replicas of those ranges of this node that no replica has rebuilt it from yet:
   * empty once every range this node replicates has another replica that holds data (is not
   * rebuilding itself) and completed a round with it. A range whose other replicas all completed
   * a round while rebuilding too is new (a cluster's first start): nobody holds its data, and it
   * counts as rebuilt. A range without other replicas, at RF 1, has nothing to rebuild from.
   */
  private java.util.SortedSet<Integer> uncoveredPeers() {
    java.util.SortedSet<Integer> awaited = new java.util.TreeSet<>();
    for (int[] replicas : currentView.placement().current().rangeReplicas()) {
      boolean mine = false;
      for (int r : replicas) {
        mine |= r == config.nodeId();
      }
      if (!mine) {
        continue;
      }
      boolean fromSource = false;
      boolean allNew = true;
      for (int r : replicas) {
        if (r != config.nodeId()) {
          fromSource |= repairedSinceStart[r] && !peerWasRebuilding[r];
          allNew &= repairedSinceStart[r] && peerWasRebuilding[r];
        }
      }
      if (!fromSource && !allNew) {
        for (int r : replicas) {
          if (r != config.nodeId() && !(repairedSinceStart[r] && peerWasRebuilding[r])) {
            awaited.add(r);
          }
        }
      }
    }
    return awaited;
  }

  /**
   * One round with every other node, one peer after the other: after the first, the next peers'
   * digests mostly match already, so an empty replica is not sent every record RF-1 times. A round
   * already under way is joined. Completes with the round's report (never fails: a peer's failure
   * is in its entry).
   */
  public Future<JsonObject> repairAll() {
    if (roundDone != null) {
      return roundDone;
    }
    List<Integer> others = others();
    RepairProgress progress = new RepairProgress(config.wallMillis(), others.size());
    Future<Void> chain = Future.succeededFuture();
    for (int peer : others) {
      chain = chain.compose(v -> {
        Future<RepairReport> report = repair(peer);
        Running r = running.get(peer);
        PeerRepairRound exchange = r == null ? null : r.round();
        progress.peerStarted(exchange);
        return report.map(RepairReport::toJson)
            .otherwise(t -> new JsonObject().put("peer", peer).put("error", String.valueOf(t.getMessage())))
            .map(result -> {
              progress.peerFinished(exchange, result);
              logPeerDone(progress, result);
              return null;
            });
      });
    }
    round = progress;
    Future<JsonObject> done = chain.map(v -> {
      long now = config.wallMillis();
      progress.complete(now);
      round = null;
      roundDone = null;
      lastRound = progress;
      if (progress.verbose) {
        JsonObject p = progress.toJson(now);
        log.info("repair round with {} peers completed in {} ms ({} failed): {} buckets differed, {} records pushed, {} pulled",
            progress.peersTotal, progress.durationMs(now), progress.peersFailed, p.getLong("buckets_differing"),
            p.getLong("records_pushed"), p.getLong("records_pulled"));
      }
      return progress.report(config.nodeName());
    });
    if (!done.isComplete()) { // it completes at once when no peer is there to ask
      roundDone = done;
    }
    return done;
  }

  private void logPeerDone(RepairProgress progress, JsonObject result) {
    if (!progress.verbose) {
      return;
    }
    if (result.containsKey("error")) {
      log.info("repair round: peer {} failed ({}/{} peers done): {}", result.getInteger("peer"), progress.peersDone,
          progress.peersTotal, result.getString("error"));
    } else {
      log.info("repair round: peer {} done ({}/{} peers): {} buckets differed, {} records pushed, {} pulled in {} ms",
          result.getInteger("peer"), progress.peersDone, progress.peersTotal, result.getInteger("buckets_differing"),
          result.getLong("records_sent"), result.getLong("records_received"), result.getLong("duration_ms"));
    }
  }

  /**
   * {@link #REPAIR_NOW_ADDRESS}: starts or joins the round, marks it as an operator's (logged at
   * INFO peer by peer), and answers 202 with its progress, or 200 with its report when it
   * completes within the wait asked for.
   */
  private void repairNow(Message<JsonObject> m) {
    Long waitMs = m.body() == null ? null : m.body().getLong("wait_ms");
    boolean fresh = roundDone == null;
    Future<JsonObject> done = repairAll();
    if (round != null) {
      if (fresh || !round.verbose) {
        log.info("repair round with {} peers {} on request", round.peersTotal, fresh ? "started" : "joined");
      }
      round.verbose = true;
    }
    if (waitMs == null || (waitMs <= 0 && !done.isComplete())) {
      m.reply(progress(), status(202));
      return;
    }
    Promise<Void> answered = Promise.promise();
    long timer = done.isComplete() ? -1 : vertx.setTimer(Math.max(1, waitMs), id -> {
      if (answered.tryComplete()) {
        m.reply(progress(), status(202));
      }
    });
    done.onSuccess(report -> {
      if (answered.tryComplete()) {
        vertx.cancelTimer(timer);
        m.reply(report, status(200));
      }
    });
  }

  private static DeliveryOptions status(int code) {
    return new DeliveryOptions().addHeader(STATUS_HEADER, Integer.toString(code));
  }

  /** The round under way, if any, and the last completed round's summary. */
  private JsonObject progress() {
    long now = config.wallMillis();
    JsonObject out = new JsonObject().put("node_id", config.nodeName()).put("running", round != null);
    if (round != null) {
      out.mergeIn(round.toJson(now));
    }
    return out.put("last_round", lastRound == null ? null : lastRound.toJson(now));
  }

  /** A repair round with one peer; joins the round already running, if any. */
  public Future<RepairReport> repair(int peer) {
    if (!health.servesData()) {
      return Future.failedFuture("this node serves no repair data: " + health.reason());
    }
    if (!peers.isUp(peer)) {
      return Future.failedFuture("peer " + peer + " is down");
    }
    Running current = running.get(peer);
    if (current != null) {
      return current.report();
    }
    PeerRepairRound exchange = new PeerRepairRound(vertx, config, currentView.placement(), digests, reader, client, meters, peer);
    Future<RepairReport> f = exchange.run()
        .map(r -> {
          duration.record(r.durationMs(), TimeUnit.MILLISECONDS);
          last.put(peer, r);
          lastCompleted.set(peer, r.completedAtMillis());
          repairedSinceStart[peer] = true;
          peerWasRebuilding[peer] = r.peerRebuilding();
          checkRebuilt();
          if (r.recordsSent() + r.recordsReceived() > 0) {
            log.info("repair with peer {}: {} buckets differed, {} records sent, {} received in {} ms",
                peer, r.bucketsDiffering(), r.recordsSent(), r.recordsReceived(), r.durationMs());
          }
          return r;
        });
    running.put(peer, new Running(exchange, f));
    f.onComplete(ar -> running.remove(peer)).onFailure(t -> {
      failures.increment();
      log.warn("repair with peer {} failed: {}", peer, t.getMessage());
    });
    return f;
  }

  private JsonObject info() {
    JsonObject out = new JsonObject();
    last.forEach((peer, r) -> out.put(Integer.toString(peer), r.toJson()));
    return out;
  }
}
