package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.Peer;
import io.distributedsqlite.cluster.NodeHealth.Standing;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.Hint;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.wire.RecordJson;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Failure detection and hint replay. Probes every peer each PROBE_INTERVAL; a peer is down after
 * PROBE_FAILURES misses in a row and up again on the first answer. Each change is published as a
 * {@link PeerStatus} so the coordinators skip down peers without waiting for timeouts; its own
 * {@link PeerView} is the state it publishes from. While a peer is up and has hints, they are
 * replayed to it in version order, in requests bounded in count and bytes, and deleted once it
 * acked (or once it refused one on its own, which no retry changes); hints older than HINT_WINDOW
 * are dropped before any replay. Answers {@link #INFO_ADDRESS} with the cluster view that
 * {@code GET /cluster} shows.
 *
 * <p>Each probe carries this node's {@link MembershipView} identity and its answer the peer's; a
 * peer whose view differs (RF, members, epoch) is down with the difference as its reason. While
 * the view stored in the database contradicts the configuration, a majority running with the
 * configured view makes it stored.
 *
 * <p>It also keeps this replica's standing ({@link InTouchRule}): the last time at least half of
 * the cluster answered its probes (persisted every few seconds), turning the node stale when that
 * is longer ago than TOMBSTONE_GRACE, and, when the node started {@code checking}, asks the
 * peers' {@code /internal/status} until it knows whether it is stale. A stale or checking node
 * replays no hints.
 */
public final class MembershipVerticle extends VerticleBase {
  public static final String INFO_ADDRESS = "cluster.info";
  static final int REPLAY_BATCH = 256;

  private static final Logger log = LoggerFactory.getLogger(MembershipVerticle.class);

  private final NodeConfig config;
  private final RecordReader reader;
  private final MeterRegistry registry;
  private final ClockOffsets offsets;
  /** The failure detector's verdicts, as published; also why a peer is down (its last failed probe), shown in /cluster. */
  private final PeerView view;
  private final int[] misses;
  private final long[] lastSeen;
  private final boolean[] replaying;
  private final boolean[] probing;
  private final AtomicLongArray pendingHints;
  private final NodeHealth health;
  /** The view this node runs with; every probe carries its identity and compares the peer's. */
  private final CurrentView currentView;
  /** Per peer: why its view disagrees with this node's (it is then down), or null. */
  private final String[] disagreement;
  /** Per peer: its last answer carried the same view as this node's. */
  private final boolean[] agrees;
  /** Per peer: its epoch differs from this node's by a change being published (what /cluster shows), or null. */
  private final String[] behind;
  /** Per peer: its last answer carried a newer epoch (this node is behind). */
  private final boolean[] newer;
  private long inTouchPersistedAt;
  private long startedAt;
  private boolean statusRoundRunning;
  private PeerClient client;
  private Counter replayed;
  private Counter refused;
  private DistributionSummary batchBytes;

  public MembershipVerticle(NodeConfig config, RecordReader reader, MeterRegistry registry, NodeHealth health,
      ClockOffsets offsets, CurrentView currentView) {
    this.config = config;
    this.currentView = currentView;
    this.health = health;
    this.offsets = offsets;
    this.reader = reader;
    this.registry = registry;
    int n = NodeConfig.MAX_ORDINAL + 1;
    this.view = new PeerView(n);
    this.misses = new int[n];
    this.lastSeen = new long[n];
    this.replaying = new boolean[n];
    this.probing = new boolean[n];
    this.pendingHints = new AtomicLongArray(n);
    this.disagreement = new String[n];
    this.behind = new String[n];
    this.agrees = new boolean[n];
    this.newer = new boolean[n];
  }

  @Override
  public Future<?> start() {
    client = new PeerClient(vertx, config, currentView);
    replayed = Counter.builder("dsqlite_hints_replayed").description("Hints delivered to their replica").register(registry);
    refused = Counter.builder("dsqlite_hints_refused").description("Hints their replica refused on their own (too large or invalid there); dropped")
        .register(registry);
    batchBytes = DistributionSummary.builder("dsqlite_peer_batch_bytes").tag("kind", "hints").baseUnit("bytes")
        .description("Bytes of records in one request to a peer").register(registry);
    for (MembershipView.Member m : currentView.view().peersOf(config.nodeId())) {
      registerPeerGauges(m.ordinal());
    }
    Gauge.builder("dsqlite_clock_refusing_writes", offsets, o -> o.refusal() == null ? 0 : 1)
        .description("1 while this node refuses to coordinate writes because of its clock (offset, unmeasured, or behind its high-water mark)")
        .register(registry);
    Gauge.builder("dsqlite_peers_disagreeing", this, m -> m.disagreeingPeers())
        .description("Peers whose membership view (epoch, RF, members) differs from this node's; not coordinated with")
        .register(registry);
    lastSeen[config.nodeId()] = config.wallMillis();
    adoptConfiguredViewIfAgreed();
    startedAt = config.wallMillis();
    // Re-checks the clock against its high-water mark (a one-node cluster has no probes).
    vertx.setPeriodic(1000, id -> offsets.evaluate());
    io.vertx.core.Context own = context;
    currentView.onChange(v -> own.runOnContext(x -> viewChanged(v))); // views are set on another event loop
    probeAll();
    vertx.setPeriodic(config.probeInterval().toMillis(), id -> probeAll());
    vertx.setPeriodic(Math.max(1000, config.probeInterval().toMillis() * 2), id -> replayHints());
    vertx.setPeriodic(60_000, id -> dropExpiredHints());
    return vertx.eventBus().consumer(INFO_ADDRESS, m -> info().onSuccess(m::reply).onFailure(t -> m.fail(500, t.getMessage())))
        .completion();
  }


  private final java.util.Set<Integer> gauged = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** The per-peer gauges, once per peer (members that join later get theirs when the view changes). */
  private void registerPeerGauges(int id) {
    if (!gauged.add(id)) {
      return;
    }
    Gauge.builder("dsqlite_hints_pending", pendingHints, a -> a.get(id)).tag("peer", Integer.toString(id))
        .description("Hints waiting for a replica").register(registry);
    Gauge.builder("dsqlite_peer_up", view, v -> v.isUp(id) ? 1 : 0).tag("peer", Integer.toString(id))
        .description("1 when the failure detector sees the peer up").register(registry);
    Gauge.builder("dsqlite_clock_offset_seconds", offsets, o -> offsetSeconds(o.estimate(id), false)).tag("peer", Integer.toString(id))
        .description("The peer's wall clock minus this node's, as measured by the probes (NaN before the first)").register(registry);
    Gauge.builder("dsqlite_clock_offset_error_seconds", offsets, o -> offsetSeconds(o.estimate(id), true)).tag("peer", Integer.toString(id))
        .description("Uncertainty of dsqlite_clock_offset_seconds: half the probe's round trip").register(registry);
  }

  @Override
  public Future<?> stop() {
    client.close();
    return Future.succeededFuture();
  }

  /**
   * A new view: gauges for new members, the clock majority over the new members, and what was
   * known of members that left is forgotten (they are no longer probed).
   */
  private void viewChanged(MembershipView v) {
    List<Integer> ids = new ArrayList<>();
    for (MembershipView.Member m : v.members()) {
      if (m.state() != MembershipView.State.LEFT) {
        ids.add(m.ordinal());
      }
      if (m.ordinal() != config.nodeId() && m.state() != MembershipView.State.LEFT) {
        registerPeerGauges(m.ordinal());
      }
    }
    if (!ids.contains(config.nodeId())) {
      ids.add(config.nodeId());
    }
    offsets.members(ids.stream().mapToInt(Integer::intValue).toArray());
    for (int i = 0; i < disagreement.length; i++) {
      disagreement[i] = null;
      newer[i] = false;
    }
  }

  /** The members this node probes: all of its view's but itself and those that left. */
  private List<Integer> peerIds() {
    List<Integer> out = new ArrayList<>();
    for (MembershipView.Member m : currentView.view().peersOf(config.nodeId())) {
      out.add(m.ordinal());
    }
    return out;
  }

  /** Members counted for majorities: those of the view that did not leave. */
  private int clusterSize() {
    return Math.max(1, currentView.view().activeMembers());
  }

  private String addressOf(int id) {
    try {
      return currentView.address(id).address();
    } catch (IllegalStateException e) {
      return "unknown address";
    }
  }

  private void probeAll() {
    // A busy peer gets the full PEER_TIMEOUT to answer; probes never pile up on one peer.
    long timeout = config.peerTimeout().toMillis();
    for (int id : peerIds()) {
      if (probing[id]) {
        continue;
      }
      probing[id] = true;
      long sentNanos = System.nanoTime();
      long sentWall = config.wallMillis();
      client.ping(id, timeout, sentWall).onComplete(ar -> {
        probing[id] = false;
        if (ar.succeeded()) {
          if (ar.result().clock() != null) {
            // The peer read its clock somewhere in the round trip: assume the middle, +/- half of it.
            // (A clock measurement holds whatever the peer's view.)
            double rtt = (System.nanoTime() - sentNanos) / 1e6;
            offsets.record(id, ar.result().clock() - (sentWall + rtt / 2), rtt);
            offsets.evaluate();
          }
          misses[id] = 0;
          if (!viewAgrees(id, ar.result().view())) {
            return;
          }
          lastSeen[id] = config.wallMillis();
          if (!view.isUp(id)) {
            publish(new PeerStatus(id, true, null));
          }
        } else {
          // Why a peer is down, as /cluster shows it: its latest failed probe (a stale peer says so).
          PeerStatus down = new PeerStatus(id, false, String.valueOf(ar.cause().getMessage()));
          agrees[id] = false;
          if (++misses[id] >= config.probeFailures()) {
            // Unreachable now: what its view was no longer counts (nor is logged again on one lost probe).
            disagreement[id] = null;
            newer[id] = false;
          }
          if (misses[id] >= config.probeFailures() && view.isUp(id)) {
            publish(down);
          } else if (!view.isUp(id)) {
            view.apply(down);
          }
        }
      });
    }
    keepStanding();
  }

  /**
   * Compares the view a peer's probe answer carried with this node's: a peer whose view differs
   * (another RF, other members at the same epoch, an older or a newer epoch) is down with the
   * difference as its reason, logged at WARN and published once per change. A peer that sent no
   * view (a node from before views) is taken as it is. Returns whether the peer may count as up.
   */
  private boolean viewAgrees(int id, ViewIdentity peerView) {
    ViewIdentity mine = currentView.identity();
    ViewIdentity.Agreement agreement = peerView == null ? ViewIdentity.Agreement.SAME : mine.compare(peerView);
    agrees[id] = peerView != null && agreement == ViewIdentity.Agreement.SAME;
    newer[id] = agreement == ViewIdentity.Agreement.PEER_NEWER;
    if (newer[id]) {
      vertx.eventBus().send(MembershipChanges.NEWER_VIEW_ADDRESS, id);
    }
    // An epoch apart (a change being published) is not a reason to count a peer down: the one
    // behind adopts the newer view within a probe or two; until then the newer one refuses its
    // requests. Another RF, or other members at the same epoch, never converge by themselves.
    String why = agreement == ViewIdentity.Agreement.DIFFERS ? mine.disagreement(peerView) : null;
    if (why == null && agreement != ViewIdentity.Agreement.SAME) {
      behind[id] = mine.disagreement(peerView);
    } else {
      behind[id] = null;
    }
    if (why == null) {
      if (disagreement[id] != null) {
        log.info("peer {} ({}) now has the same membership view as this node", id, addressOf(id));
        disagreement[id] = null;
      }
      adoptConfiguredViewIfAgreed();
      return true;
    }
    if (!why.equals(disagreement[id])) {
      disagreement[id] = why;
      log.warn("not coordinating with peer {} ({}): {}", id, addressOf(id), why);
      publish(new PeerStatus(id, false, why));
    } else if (!why.equals(view.downReason(id))) {
      view.apply(new PeerStatus(id, false, why)); // after a lost probe, /cluster shows the difference again
    }
    return false;
  }

  private int disagreeingPeers() {
    int n = 0;
    for (String d : disagreement) {
      n += d == null ? 0 : 1;
    }
    return n;
  }

  /**
   * While the view stored in the database contradicts the configuration, the node runs with the
   * configuration's view but is not ready. Once a majority of the cluster (itself included)
   * answers the probes with that same view, the change was made on purpose on every node: the
   * configured view is stored and the node is ready again.
   */
  private void adoptConfiguredViewIfAgreed() {
    if (health.viewProblem() == null) {
      return;
    }
    int same = 1;
    for (boolean a : agrees) {
      same += a ? 1 : 0;
    }
    if (same >= clusterSize() / 2 + 1) {
      log.info("{} of {} nodes run with the configured membership view (epoch {}, RF={}, {} members): storing it",
          same, clusterSize(), currentView.view().epoch(), currentView.view().replicationFactor(),
          currentView.view().members().size());
      putMeta(SqliteStore.META_VIEW, currentView.view().toJson().encode());
      health.viewProblem(null);
    }
  }

  /** Records being in touch, starts a check when cut off too long, or runs the check. */
  private void keepStanding() {
    long now = config.wallMillis();
    Standing standing = health.standing();
    if (standing == Standing.STALE) {
      return;
    }
    if (standing == Standing.CHECKING) {
      askPeersStanding();
      return;
    }
    // In touch as of the moment enough peers had answered: the answer of the peer that completes
    // half of the cluster, if it is younger than the failure detector's patience.
    List<Long> answers = new ArrayList<>();
    for (int id : peerIds()) {
      if (lastSeen[id] > 0) {
        answers.add(lastSeen[id]);
      }
    }
    answers.sort(java.util.Comparator.reverseOrder());
    int needed = InTouchRule.peersNeeded(clusterSize());
    long asOf = needed == 0 ? now : answers.size() < needed ? 0 : answers.get(needed - 1);
    InTouchRule.Stretches before = health.inTouch();
    if (asOf > 0 && now - asOf <= detectionWindow()) {
      InTouchRule.Stretches after = before.touch(Math.max(asOf, before.until()), slack(config));
      health.inTouch(after);
      if (after.since() != before.since() || now - inTouchPersistedAt >= persistEvery(config)) {
        persistInTouch(now);
      }
    } else {
      // A database never in touch yet is cut off since this node started, not since the epoch.
      long lastContact = before.until() > 0 ? before.until() : startedAt;
      if (now - lastContact > config.tombstoneGrace().toMillis()) {
        log.warn("cut off from the cluster since {}, longer than TOMBSTONE_GRACE={}: serving nothing until the peers "
            + "say whether it is stale", Instant.ofEpochMilli(lastContact), config.tombstoneGrace());
        health.check(checkingReason(config, lastContact));
      }
    }
  }

  private long detectionWindow() {
    return config.probeInterval().toMillis() * config.probeFailures() + config.peerTimeout().toMillis();
  }

  private void persistInTouch(long now) {
    inTouchPersistedAt = now;
    putMeta(SqliteStore.META_IN_TOUCH, health.inTouch().toJson().encode());
  }

  /** How often the in-touch stretch is written: a few seconds, well inside the grace. */
  static long persistEvery(NodeConfig config) {
    return Math.max(1000, Math.min(5000, config.tombstoneGrace().toMillis() / 10));
  }

  /**
   * How coarsely in-touch times are known: they are persisted every few seconds and a peer's
   * silence is noticed within the failure detector's window. Gaps shorter than this do not end a
   * stretch, and peers in touch without this node for less than this are no evidence.
   */
  static long slack(NodeConfig config) {
    return persistEvery(config) + config.probeInterval().toMillis() * config.probeFailures() + config.peerTimeout().toMillis();
  }

  /** What /ready says while the node asks its peers whether it is stale. */
  public static String checkingReason(NodeConfig config, long lastInTouch) {
    return "checking with the peers: last in touch with the cluster at " + Instant.ofEpochMilli(lastInTouch)
        + ", longer than TOMBSTONE_GRACE=" + config.tombstoneGrace() + " ago; serves nothing until at least half of "
        + "the cluster answered whether it went on without this node";
  }

  /** The check: one round of {@code /internal/status} to every peer, then the verdict. */
  private void askPeersStanding() {
    if (statusRoundRunning) {
      return;
    }
    statusRoundRunning = true;
    List<Future<InTouchRule.PeerStanding>> asks = new ArrayList<>();
    for (int id : peerIds()) {
      asks.add(client.call(io.vertx.core.http.HttpMethod.GET, id, "/internal/status", null)
          .map(body -> {
            JsonObject j = body.toJsonObject();
            return new InTouchRule.PeerStanding(id, j.getString("state"),
                InTouchRule.Stretches.fromJson(j.getJsonObject("in_touch", new JsonObject())), j.getLong("purged_up_to", 0L));
          })
          .otherwise(t -> null));
    }
    Future.join(asks).onComplete(ar -> {
      statusRoundRunning = false;
      if (health.standing() != Standing.CHECKING) {
        return;
      }
      List<InTouchRule.PeerStanding> answers = new ArrayList<>();
      for (Future<InTouchRule.PeerStanding> f : asks) {
        if (f.result() != null) {
          answers.add(f.result());
        }
      }
      long mine = health.inTouch().until();
      long now = config.wallMillis();
      long grace = config.tombstoneGrace().toMillis();
      switch (InTouchRule.verdict(mine, answers, clusterSize(), now, grace, slack(config))) {
        case STALE -> turnStale("last in touch with the cluster at " + Instant.ofEpochMilli(mine) + ", but "
            + InTouchRule.evidence(mine, answers, now, grace, slack(config)));
        case RESUME -> {
          log.info("{} of {} nodes answered and none went on without this node for longer than TOMBSTONE_GRACE: resuming",
              answers.size() + 1, clusterSize());
          health.inTouch(health.inTouch().touch(now, 0));
          persistInTouch(now);
          health.resume();
        }
        case WAIT -> { }
      }
    });
  }

  private void turnStale(String why) {
    String reason = "stale replica: " + why + "; deletes it missed may have been purged elsewhere, so it serves no data "
        + "and peers count it down. Remedy: stop the node, empty DATA_DIR (" + config.dataDir().toAbsolutePath()
        + ") and start it again; it rebuilds from its peers";
    if (health.becomeStale(reason)) {
      log.error(reason);
      putMeta(SqliteStore.META_STALE, reason);
    }
  }

  private void putMeta(String name, String value) {
    vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.PutMeta(name, value))
        .onFailure(t -> log.warn("could not record {}: {}", name, t.getMessage()));
  }

  private void publish(PeerStatus status) {
    view.apply(status);
    int peer = status.peer();
    if (status.up()) {
      log.info("peer {} ({}) is up", peer, addressOf(peer));
    } else {
      log.warn("peer {} ({}) is down: {}", peer, addressOf(peer), status.reason());
    }
    vertx.eventBus().publish(PeerStatus.ADDRESS, status);
    if (status.up()) {
      replayTo(peer);
    }
  }

  private void replayHints() {
    reader.hintCounts().onSuccess(counts -> {
      for (int id : peerIds()) {
        pendingHints.set(id, counts.getOrDefault(id, 0L));
        if (view.isUp(id) && counts.getOrDefault(id, 0L) > 0) {
          replayTo(id);
        }
      }
    });
  }

  /** Replays a peer's hints batch by batch, oldest version first, until none are left or a send fails. */
  private void replayTo(int peer) {
    if (replaying[peer] || !view.isUp(peer) || !config.hintedHandoff() || !health.servesData()) {
      return;
    }
    replaying[peer] = true;
    dropHintsOutsideWindow(peer).compose(v -> replayBatch(peer)).onComplete(ar -> {
      replaying[peer] = false;
      if (ar.failed()) {
        log.info("hint replay to peer {} stopped, retried in a moment: {}", peer, ar.cause().getMessage());
      }
    });
  }

  /**
   * The next hints of a peer, bounded in count and bytes (sizes are read before values), sent in
   * requests of at most {@link PeerLimits#BATCH_BYTES}; then the next, until none are left.
   */
  private Future<Void> replayBatch(int peer) {
    return reader.hints(peer, REPLAY_BATCH, PeerLimits.BATCH_BYTES).compose(hints -> {
      if (hints.isEmpty() || !view.isUp(peer) || !health.servesData()) {
        return Future.succeededFuture();
      }
      Future<Void> chain = Future.succeededFuture();
      for (List<Hint> batch : PeerBatches.split(hints, h -> RecordJson.wireBytes(h.record()), REPLAY_BATCH)) {
        chain = chain.compose(v -> sendHints(peer, batch));
      }
      return chain.compose(v -> replayBatch(peer));
    });
  }

  /**
   * Sends one batch of hints and deletes them once the peer took them. A hint the peer refuses on
   * its own (too large or invalid there: it can never be delivered) is deleted too, counted in
   * {@code dsqlite_hints_refused} and logged; anti-entropy is then the way the key converges.
   */
  private Future<Void> sendHints(int peer, List<Hint> batch) {
    return PeerBatches.deliver(batch, part -> {
          List<Record> records = new ArrayList<>(part.size());
          long bytes = 0;
          for (Hint h : part) {
            records.add(h.record());
            bytes += RecordJson.wireBytes(h.record());
          }
          batchBytes.record(bytes);
          return client.apply(peer, records).map(result -> {
            // Winning versions move the clock. Records refused as stamped too far ahead of the
            // peer's clock are dropped with the delivered ones: they would be refused again.
            for (int i = 0; i < result.size(); i++) {
              if (result.get(i).winner() != null) {
                offsets.clock().observe(result.get(i).winner());
              }
            }
            int future = result.count(io.distributedsqlite.storage.ApplyResult.Kind.REFUSED_FUTURE);
            if (future > 0) {
              log.warn("peer {} refused {} hinted records stamped too far ahead of its clock; dropping them", peer, future);
            }
            return result;
          });
        })
        .compose(refusedHints -> {
          for (Hint h : refusedHints) {
            log.warn("peer {} refused the hint for key {} (version {}) on its own; dropped it, anti-entropy repairs the key",
                peer, h.record().key(), h.record().version());
          }
          refused.increment(refusedHints.size());
          List<Long> ids = new ArrayList<>(batch.size());
          batch.forEach(h -> ids.add(h.id()));
          return vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.DeleteHints(peer, ids))
              .map(m -> {
                replayed.increment(batch.size() - refusedHints.size());
                return null;
              });
        });
  }

  private void dropExpiredHints() {
    for (int id : peerIds()) {
      dropHintsOutsideWindow(id);
    }
    // Hints for members that left can never be delivered: their keys live on other replicas now.
    for (MembershipView.Member m : currentView.view().members()) {
      if (m.state() == MembershipView.State.LEFT && m.ordinal() != config.nodeId()) {
        vertx.eventBus().<Integer>request(StorageVerticle.ADDRESS, new StorageCommand.DropOldHints(m.ordinal(), Long.MAX_VALUE))
            .onSuccess(n -> {
              if (n.body() > 0) {
                log.info("dropped {} hints for node {}, which left the cluster", n.body(), m.ordinal());
              }
            });
      }
    }
  }

  /**
   * Drops a peer's hints older than HINT_WINDOW (shorter than TOMBSTONE_GRACE, so no hint can
   * carry a value whose delete was purged); runs before every replay.
   */
  private Future<Void> dropHintsOutsideWindow(int peer) {
    long before = config.wallMillis() - config.hintWindow().toMillis();
    return vertx.eventBus().<Integer>request(StorageVerticle.ADDRESS, new StorageCommand.DropOldHints(peer, before))
        .map(m -> {
          if (m.body() > 0) {
            log.warn("dropped {} hints for peer {} older than HINT_WINDOW; anti-entropy will repair it", m.body(), peer);
          }
          return (Void) null;
        });
  }

  private static double offsetSeconds(ClockOffsets.Estimate e, boolean error) {
    return e == null ? Double.NaN : (error ? e.errorMillis() : e.offsetMillis()) / 1000.0;
  }

  /**
   * The view this node runs with; {@code behind}: some peer has a newer epoch (this node does not
   * coordinate with it); {@code problem}: the stored view contradicts the configuration.
   */
  private JsonObject viewInfo() {
    boolean behind = false;
    for (boolean b : newer) {
      behind |= b;
    }
    return currentView.view().toJson()
        .put("behind", behind)
        .put("disagreeing_peers", disagreeingPeers())
        .put("problem", health.viewProblem());
  }

  private Future<JsonObject> info() {
    return reader.hintCounts().map(counts -> {
      double[] share = currentView.placement().current().ownership();
      JsonArray nodes = new JsonArray();
      for (MembershipView.Member m : currentView.view().members()) {
        int id = m.ordinal();
        boolean self = id == config.nodeId();
        boolean left = m.state() == MembershipView.State.LEFT;
        nodes.add(new JsonObject()
            .put("id", id)
            .put("address", m.address())
            .put("self", self)
            .put("member", m.state().wireName())
            .put("state", self || (!left && view.isUp(id)) ? "up" : "down")
            .put("down_reason", self || left ? null : view.downReason(id))
            .put("view_epoch_differs", self || left ? null : behind[id])
            .put("last_seen", self ? Instant.ofEpochMilli(config.wallMillis()).toString() : lastSeen[id] == 0 ? null : Instant.ofEpochMilli(lastSeen[id]).toString())
            .put("hints_pending", counts.getOrDefault(id, 0L))
            .put("ownership", id < share.length ? Math.round(share[id] * 10000) / 10000.0 : 0.0));
        ClockOffsets.Estimate e = offsets.estimate(id);
        nodes.getJsonObject(nodes.size() - 1)
            .put("clock_offset_ms", e == null ? null : Math.round(e.offsetMillis() * 10) / 10.0)
            .put("clock_offset_error_ms", e == null ? null : Math.round(e.errorMillis() * 10) / 10.0);
      }
      return new JsonObject()
          .put("node_id", config.nodeName())
          .put("cluster_size", clusterSize())
          .put("replication_factor", config.replicationFactor())
          .put("write_consistency", config.writeConsistency().wireName())
          .put("read_consistency", config.readConsistency().wireName())
          .put("clock", new JsonObject()
              .put("wall", Instant.ofEpochMilli(config.wallMillis()).toString())
              .put("max_offset_ms", offsets.maxOffsetMillis())
              .put("coordinating_writes", offsets.refusal() == null)
              .put("problem", offsets.refusal()))
          .put("view", viewInfo())
          .put("nodes", nodes);
    });
  }

}
