package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.Peer;
import io.distributedsqlite.storage.Hint;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.micrometer.core.instrument.Counter;
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
 * {@link PeerStatus} so the coordinators skip down peers without waiting for timeouts. While a
 * peer is up and has hints, they are replayed to it in version order and deleted once it acked.
 * Answers {@link #INFO_ADDRESS} with the cluster view that {@code GET /cluster} shows.
 */
public final class MembershipVerticle extends VerticleBase {
  public static final String INFO_ADDRESS = "cluster.info";
  static final int REPLAY_BATCH = 256;

  private static final Logger log = LoggerFactory.getLogger(MembershipVerticle.class);

  private final NodeConfig config;
  private final Ring ring;
  private final RecordReader reader;
  private final MeterRegistry registry;
  private final ClockOffsets offsets;
  private final boolean[] up;
  private final int[] misses;
  private final long[] lastSeen;
  private final boolean[] replaying;
  private final boolean[] probing;
  private final AtomicLongArray pendingHints;
  private PeerClient client;
  private Counter replayed;

  public MembershipVerticle(NodeConfig config, Ring ring, RecordReader reader, MeterRegistry registry, ClockOffsets offsets) {
    this.config = config;
    this.offsets = offsets;
    this.ring = ring;
    this.reader = reader;
    this.registry = registry;
    int n = config.clusterSize();
    this.up = new boolean[n];
    this.misses = new int[n];
    this.lastSeen = new long[n];
    this.replaying = new boolean[n];
    this.probing = new boolean[n];
    this.pendingHints = new AtomicLongArray(n);
    java.util.Arrays.fill(up, true);
  }

  @Override
  public Future<?> start() {
    client = new PeerClient(vertx, config);
    replayed = Counter.builder("dsqlite_hints_replayed").description("Hints delivered to their replica").register(registry);
    for (Peer p : config.peers()) {
      if (p.id() != config.nodeId()) {
        int id = p.id();
        Gauge.builder("dsqlite_hints_pending", pendingHints, a -> a.get(id)).tag("peer", Integer.toString(id))
            .description("Hints waiting for a replica").register(registry);
        Gauge.builder("dsqlite_peer_up", up, a -> a[id] ? 1 : 0).tag("peer", Integer.toString(id))
            .description("1 when the failure detector sees the peer up").register(registry);
        Gauge.builder("dsqlite_clock_offset_seconds", offsets, o -> offsetSeconds(o.estimate(id), false)).tag("peer", Integer.toString(id))
            .description("The peer's wall clock minus this node's, as measured by the probes (NaN before the first)").register(registry);
        Gauge.builder("dsqlite_clock_offset_error_seconds", offsets, o -> offsetSeconds(o.estimate(id), true)).tag("peer", Integer.toString(id))
            .description("Uncertainty of dsqlite_clock_offset_seconds: half the probe's round trip").register(registry);
      }
    }
    Gauge.builder("dsqlite_clock_refusing_writes", offsets, o -> o.refusal() == null ? 0 : 1)
        .description("1 while this node refuses to coordinate writes because of its clock (offset, unmeasured, or behind its high-water mark)")
        .register(registry);
    lastSeen[config.nodeId()] = config.wallMillis();
    // Re-checks the clock against its high-water mark (a one-node cluster has no probes).
    vertx.setPeriodic(1000, id -> offsets.evaluate());
    if (config.clusterSize() > 1) {
      probeAll();
      vertx.setPeriodic(config.probeInterval().toMillis(), id -> probeAll());
      vertx.setPeriodic(Math.max(1000, config.probeInterval().toMillis() * 2), id -> replayHints());
      vertx.setPeriodic(60_000, id -> dropExpiredHints());
    }
    return vertx.eventBus().consumer(INFO_ADDRESS, m -> info().onSuccess(m::reply).onFailure(t -> m.fail(500, t.getMessage())))
        .completion();
  }

  @Override
  public Future<?> stop() {
    client.close();
    return Future.succeededFuture();
  }

  private void probeAll() {
    // A busy peer gets the full PEER_TIMEOUT to answer; probes never pile up on one peer.
    long timeout = config.peerTimeout().toMillis();
    for (Peer p : config.peers()) {
      int id = p.id();
      if (id == config.nodeId() || probing[id]) {
        continue;
      }
      probing[id] = true;
      long sentNanos = System.nanoTime();
      long sentWall = config.wallMillis();
      client.ping(id, timeout, sentWall).onComplete(ar -> {
        probing[id] = false;
        if (ar.succeeded()) {
          if (ar.result() != null) {
            // The peer read its clock somewhere in the round trip: assume the middle, +/- half of it.
            double rtt = (System.nanoTime() - sentNanos) / 1e6;
            offsets.record(id, ar.result() - (sentWall + rtt / 2), rtt);
            offsets.evaluate();
          }
          misses[id] = 0;
          lastSeen[id] = config.wallMillis();
          if (!up[id]) {
            setUp(id, true);
          }
        } else if (++misses[id] >= config.probeFailures() && up[id]) {
          setUp(id, false);
        }
      });
    }
  }

  private void setUp(int peer, boolean isUp) {
    up[peer] = isUp;
    log.info("peer {} ({}) is {}", peer, config.peers().get(peer).address(), isUp ? "up" : "down");
    vertx.eventBus().publish(PeerStatus.ADDRESS, new PeerStatus(peer, isUp));
    if (isUp) {
      replayTo(peer);
    }
  }

  private void replayHints() {
    reader.hintCounts().onSuccess(counts -> {
      for (Peer p : config.peers()) {
        pendingHints.set(p.id(), counts.getOrDefault(p.id(), 0L));
        if (up[p.id()] && counts.getOrDefault(p.id(), 0L) > 0) {
          replayTo(p.id());
        }
      }
    });
  }

  /** Replays a peer's hints batch by batch, oldest version first, until none are left or a send fails. */
  private void replayTo(int peer) {
    if (replaying[peer] || !up[peer] || !config.hintedHandoff()) {
      return;
    }
    replaying[peer] = true;
    replayBatch(peer).onComplete(ar -> replaying[peer] = false);
  }

  private Future<Void> replayBatch(int peer) {
    return reader.hints(peer, REPLAY_BATCH).compose(hints -> {
      if (hints.isEmpty() || !up[peer]) {
        return Future.succeededFuture();
      }
      List<Record> records = new ArrayList<>(hints.size());
      List<Long> ids = new ArrayList<>(hints.size());
      for (Hint h : hints) {
        records.add(h.record());
        ids.add(h.id());
      }
      return client.apply(peer, records)
          .compose(result -> {
            // Refused records are dropped with the delivered ones: their stamps are beyond the
            // peer's future cap and would be refused again. Winning versions move the clock.
            for (int i = 0; i < result.size(); i++) {
              if (result.get(i).winner() != null) {
                offsets.clock().observe(result.get(i).winner());
              }
            }
            int refused = result.count(io.distributedsqlite.storage.ApplyResult.Kind.REFUSED_FUTURE);
            if (refused > 0) {
              log.warn("peer {} refused {} hinted records stamped too far ahead of its clock; dropping them", peer, refused);
            }
            return vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.DeleteHints(peer, ids));
          })
          .compose(m -> {
            replayed.increment(ids.size());
            return replayBatch(peer);
          });
    });
  }

  private void dropExpiredHints() {
    long before = config.wallMillis() - config.hintWindow().toMillis();
    for (Peer p : config.peers()) {
      vertx.eventBus().<Integer>request(StorageVerticle.ADDRESS, new StorageCommand.DropOldHints(p.id(), before))
          .onSuccess(m -> {
            if (m.body() > 0) {
              log.warn("dropped {} hints for peer {} older than HINT_WINDOW; anti-entropy will repair it", m.body(), p.id());
            }
          });
    }
  }

  private static double offsetSeconds(ClockOffsets.Estimate e, boolean error) {
    return e == null ? Double.NaN : (error ? e.errorMillis() : e.offsetMillis()) / 1000.0;
  }

  private Future<JsonObject> info() {
    return reader.hintCounts().map(counts -> {
      double[] share = ring.ownership();
      JsonArray nodes = new JsonArray();
      for (Peer p : config.peers()) {
        int id = p.id();
        boolean self = id == config.nodeId();
        nodes.add(new JsonObject()
            .put("id", id)
            .put("address", p.address())
            .put("self", self)
            .put("state", self || up[id] ? "up" : "down")
            .put("last_seen", self ? Instant.ofEpochMilli(config.wallMillis()).toString() : lastSeen[id] == 0 ? null : Instant.ofEpochMilli(lastSeen[id]).toString())
            .put("hints_pending", counts.getOrDefault(id, 0L))
            .put("ownership", Math.round(share[id] * 10000) / 10000.0));
        ClockOffsets.Estimate e = offsets.estimate(id);
        nodes.getJsonObject(nodes.size() - 1)
            .put("clock_offset_ms", e == null ? null : Math.round(e.offsetMillis() * 10) / 10.0)
            .put("clock_offset_error_ms", e == null ? null : Math.round(e.errorMillis() * 10) / 10.0);
      }
      return new JsonObject()
          .put("node_id", config.nodeName())
          .put("cluster_size", config.clusterSize())
          .put("replication_factor", config.replicationFactor())
          .put("write_consistency", config.writeConsistency().wireName())
          .put("read_consistency", config.readConsistency().wireName())
          .put("clock", new JsonObject()
              .put("wall", Instant.ofEpochMilli(config.wallMillis()).toString())
              .put("max_offset_ms", offsets.maxOffsetMillis())
              .put("coordinating_writes", offsets.refusal() == null)
              .put("problem", offsets.refusal()))
          .put("nodes", nodes);
    });
  }

}
