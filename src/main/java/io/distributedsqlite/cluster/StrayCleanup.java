package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes strays: copies of keys this node does not replicate, which a legacy versionless
 * {@code /internal/set} or {@code /internal/delete} keeps on the node that received it (as the
 * original does, so its tools can read the write back from that node). A stray is recognised by
 * ring membership of its key, not by a stored flag, so the same rule will hold when membership
 * changes. It is removed once its version is older than STRAY_GRACE; a newer legacy write to the
 * same node restarts that grace, and the removal is conditional on the version, so a write that
 * arrives meanwhile is kept.
 *
 * <p>The {@link DigestIndex} counts strays on every commit, so a node without any (the normal
 * case) never scans. Otherwise, every half STRAY_GRACE (between 1 s and 10 min) this walks the
 * table by key in pages of {@value #PAGE} versions (no values), paced to REPAIR_RATE rows per
 * second like anti-entropy, and stops once it has seen as many strays as the index counts.
 */
public final class StrayCleanup extends VerticleBase {
  /** Run a cleanup now, of every stray whatever its age ({@code POST /admin/cleanup}); replies what it removed. */
  public static final String CLEANUP_ADDRESS = "cleanup.now";
  /** The last cleanup run on demand ({@code GET /admin/cleanup}). */
  public static final String LAST_ADDRESS = "cleanup.last";
  static final int PAGE = 500;
  private static final Logger log = LoggerFactory.getLogger(StrayCleanup.class);

  private final NodeConfig config;
  private final DigestIndex digests;
  private final RecordReader reader;
  private final MeterRegistry registry;
  private Counter removed;
  private boolean running;

  public StrayCleanup(NodeConfig config, DigestIndex digests, RecordReader reader, MeterRegistry registry) {
    this.config = config;
    this.digests = digests;
    this.reader = reader;
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    Gauge.builder("dsqlite_strays", digests, DigestIndex::strays)
        .description("Records held here for keys this node does not replicate (legacy writes' local copies)")
        .register(registry);
    removed = Counter.builder("dsqlite_strays_removed").description("Strays removed after STRAY_GRACE").register(registry);
    long every = Math.max(1000, Math.min(600_000, config.strayGrace().toMillis() / 2));
    vertx.setPeriodic(every, id -> runOnce());
    vertx.eventBus().consumer(CLEANUP_ADDRESS, m -> cleanupNow().onSuccess(m::reply).onFailure(t -> m.fail(500, "cleanup_failed: "
        + t.getMessage())));
    vertx.eventBus().consumer(LAST_ADDRESS, m -> m.reply(last == null ? new JsonObject().put("node_id", config.nodeName())
        .put("last", null).put("strays", digests.strays()) : last.copy().put("strays", digests.strays())));
    return Future.succeededFuture();
  }

  private JsonObject last;
  private Future<JsonObject> runningNow;

  /**
   * Removes every record of a key this node does not replicate under its membership view,
   * whatever its version's age: after a membership change settled, the ranges that moved away
   * (README, "Membership"). Paced like the periodic walk; a second call joins the one running.
   */
  Future<JsonObject> cleanupNow() {
    if (runningNow != null) {
      return runningNow;
    }
    long started = System.nanoTime();
    long expected = digests.strays();
    Future<JsonObject> run = (expected <= 0 ? Future.succeededFuture(0) : walk("", expected, Long.MAX_VALUE, 0)).map(n -> {
      JsonObject r = new JsonObject().put("node_id", config.nodeName()).put("removed", n)
          .put("took_ms", (System.nanoTime() - started) / 1_000_000)
          .put("finished_at", java.time.Instant.ofEpochMilli(config.wallMillis()).toString());
      last = r;
      if (n > 0) {
        log.info("cleanup removed {} records this node does not replicate", n);
      }
      return r;
    });
    runningNow = run;
    run.onComplete(ar -> runningNow = null);
    return run;
  }

  /** One walk over the table, unless one is running or there are no strays. */
  void runOnce() {
    long expected = digests.strays();
    if (running || expected <= 0) {
      return;
    }
    running = true;
    long horizon = config.wallMillis() - config.strayGrace().toMillis();
    walk("", expected, horizon, 0).onComplete(ar -> {
      running = false;
      if (ar.failed()) {
        log.warn("stray cleanup stopped: {}", ar.cause().getMessage());
      } else if (ar.result() > 0) {
        log.info("removed {} strays older than STRAY_GRACE ({})", ar.result(), config.strayGrace());
      }
    });
  }

  private Future<Integer> walk(String after, long expected, long horizonMillis, int removedSoFar) {
    return reader.versionsAfter(after, PAGE).compose(page -> {
      List<Record> old = new ArrayList<>();
      long seen = 0;
      for (Record r : page) {
        if (!digests.replicates(r.key())) {
          seen++;
          if (r.version().millis() < horizonMillis) {
            old.add(r);
          }
        }
      }
      long left = expected - seen;
      Future<Integer> dropped = old.isEmpty() ? Future.succeededFuture(0)
          : vertx.eventBus().<Integer>request(StorageVerticle.ADDRESS, new StorageCommand.DropStrays(old, key -> !digests.replicates(key))).map(m -> m.body());
      return dropped.compose(n -> {
        removed.increment(n);
        if (page.size() < PAGE || left <= 0) {
          return Future.succeededFuture(removedSoFar + n);
        }
        String last = page.get(page.size() - 1).key();
        return pause(page.size()).compose(v -> walk(last, left, horizonMillis, removedSoFar + n));
      });
    });
  }

  /** Keeps the walk under REPAIR_RATE rows per second. */
  private Future<Void> pause(int rows) {
    long delayMs = rows * 1000L / config.repairRate();
    if (delayMs < 1) {
      return Future.succeededFuture();
    }
    Promise<Void> p = Promise.promise();
    vertx.setTimer(delayMs, id -> p.complete());
    return p.future();
  }
}
