package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.Version;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes, in the background, the records past the {@link PurgeHorizon}: tombstones older than
 * TOMBSTONE_GRACE, and records whose TTL ran out more than TOMBSTONE_GRACE ago (an expired record
 * reads as absent at once, but its row stays until then). Runs 5 s after start-up and then every
 * tenth of the grace (1 s .. 10 min), so a record is gone soon after its grace ran out. The purge
 * runs on the storage worker, whose listeners keep the record cache and the digest index right.
 * Both go in batches of {@value #BATCH} rows, paced to REPAIR_RATE rows per second like repair,
 * so a mass delete or expiry never holds the write path for long. Each purge moves the node's
 * {@code purged_up_to} (the newest purged version, which the stale-replica check compares).
 */
public final class HorizonPurger extends VerticleBase {
  static final int BATCH = 1000;
  private static final Logger log = LoggerFactory.getLogger(HorizonPurger.class);

  private final NodeConfig config;
  private final NodeHealth health;
  private final MeterRegistry registry;
  private Counter tombstonesPurged;
  private Counter expiredPurged;
  private boolean running;

  public HorizonPurger(NodeConfig config, NodeHealth health, MeterRegistry registry) {
    this.config = config;
    this.health = health;
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    tombstonesPurged = Counter.builder("dsqlite_purged_tombstones")
        .description("Tombstones purged after TOMBSTONE_GRACE").register(registry);
    expiredPurged = Counter.builder("dsqlite_purged_expired_records")
        .description("Records purged TOMBSTONE_GRACE after their TTL ran out").register(registry);
    vertx.setTimer(5_000, id -> purge());
    long every = Math.max(1000, Math.min(TimeUnit.MINUTES.toMillis(10), config.tombstoneGrace().toMillis() / 10));
    vertx.setPeriodic(every, id -> purge());
    return Future.succeededFuture();
  }

  private void purge() {
    if (running) {
      return;
    }
    running = true;
    PurgeHorizon horizon = PurgeHorizon.at(config);
    inBatches(() -> new StorageCommand.PurgeTombstones(horizon.tombstonesBeforeHlc(), BATCH), tombstonesPurged, 0)
        .onSuccess(n -> logPurged(n, "tombstones older than TOMBSTONE_GRACE ({})"))
        .compose(v -> inBatches(() -> new StorageCommand.PurgeExpired(horizon.expiredBeforeMillis(), BATCH), expiredPurged, 0))
        .onSuccess(n -> logPurged(n, "records whose TTL ran out more than TOMBSTONE_GRACE ({}) ago"))
        .onFailure(t -> log.warn("purge failed: {}", t.getMessage()))
        .onComplete(ar -> running = false);
  }

  /**
   * Sends the purge command again, paced, while a batch comes back full; completes with the
   * total purged. Each batch is one short transaction on the storage worker, so client writes
   * queue behind one batch at most, however many rows are due.
   */
  private Future<Long> inBatches(Supplier<StorageCommand> command, Counter counter, long total) {
    return vertx.eventBus().<JsonObject>request(StorageVerticle.ADDRESS, command.get())
        .compose(m -> {
          int purged = purged(m.body());
          counter.increment(purged);
          if (purged == BATCH) {
            return pace(purged).compose(v -> inBatches(command, counter, total + purged));
          }
          return Future.succeededFuture(total + purged);
        });
  }

  private void logPurged(long n, String what) {
    if (n > 0) {
      log.info("purged {} " + what, n, config.tombstoneGrace());
    }
  }

  private int purged(JsonObject answer) {
    health.purgedUpTo(new Version(answer.getLong("purged_up_to"), 0).millis());
    return answer.getInteger("purged");
  }

  private Future<Void> pace(int rows) {
    Promise<Void> p = Promise.promise();
    vertx.setTimer(Math.max(1, rows * 1000L / config.repairRate()), id -> p.complete());
    return p.future();
  }
}
