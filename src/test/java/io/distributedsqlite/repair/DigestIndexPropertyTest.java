package io.distributedsqlite.repair;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.LocalCodec;
import io.distributedsqlite.cluster.DigestIndex;
import io.distributedsqlite.cluster.Ring;
import io.distributedsqlite.storage.HybridLogicalClock;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.Version;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Property: the digests kept incrementally by the storage worker under concurrent random writes,
 * overwrites, stale writes, deletes and tombstone purges equal the digests recomputed from the
 * table afterwards.
 */
@ExtendWith(VertxExtension.class)
class DigestIndexPropertyTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(value = 300, timeUnit = TimeUnit.SECONDS)
  void incrementalDigestsEqualDigestsRecomputedFromTheTable(Vertx vertx, VertxTestContext ctx) {
    for (Class<?> type : List.of(io.distributedsqlite.storage.ApplyResult.class, StorageCommand.Apply.class, StorageCommand.PurgeTombstones.class)) {
      LocalCodec.register(vertx, type);
    }
    Future<Void> seeds = Future.succeededFuture();
    for (long seed = 1; seed <= 5; seed++) {
      long s = seed;
      seeds = seeds.compose(previous -> check(vertx, s, dir.resolve("seed-" + s)));
    }
    seeds.onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void recordsThisNodeDoesNotReplicateStayOutOfEveryDigest() {
    Ring ring = new Ring(4, 2);
    int self = 0;
    DigestIndex index = new DigestIndex(self, ring);
    Version v = Version.of(1_700_000_000_000L, 0, 3);
    int outside = 0;
    for (int i = 0; i < 200; i++) {
      String key = "k" + i;
      if (!ring.isReplica(key, self)) {
        index.changed(null, Record.write(key, "1", v, 0));
        outside++;
      }
    }
    assertTrue(outside > 50, "a ring of 4 with RF=2 leaves half the keys to other nodes");
    for (int peer = 1; peer < 4; peer++) {
      long[] digests = index.digestsFor(peer);
      for (int b = 0; b < digests.length; b++) {
        int bucket = b;
        int p = peer;
        assertEquals(0L, digests[b], () -> "bucket " + bucket + " of peer " + p + " holds a key node 0 does not replicate");
      }
    }
  }

  /**
   * One seed: random writes through a storage worker of its own, then the worker undeployed (which
   * closes the store) and the digests recomputed from the table. SQLite is opened and read off the
   * event loop.
   */
  private Future<Void> check(Vertx vertx, long seed, Path dataDir) {
    Ring ring = new Ring(5, 3);
    int self = 0;
    DigestIndex incremental = new DigestIndex(self, ring);
    return vertx.executeBlocking(() -> SqliteStore.open(dataDir, "NORMAL")).compose(store -> {
      HybridLogicalClock clock = new HybridLogicalClock(self, 0, System::currentTimeMillis, 1_000);
      StorageVerticle storage = new StorageVerticle(store, clock, 100, 100_000, 1000, incremental, new SimpleMeterRegistry());
      return vertx.deployVerticle(storage, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER));
    }).compose(id -> {
      Random rnd = new Random(seed);
      List<Future<?>> sent = new ArrayList<>();
      long base = 1_700_000_000_000L;
      for (int i = 0; i < 3_000; i++) {
        String key = "k" + rnd.nextInt(400); // few keys: many overwrites, stale writes and deletes
        Version v = Version.of(base + rnd.nextInt(10_000), rnd.nextInt(3), rnd.nextInt(5));
        Record r = rnd.nextInt(4) == 0 ? Record.tombstone(key, v) : Record.write(key, "{\"n\":" + i + "}", v, 0);
        List<Record> batch = new ArrayList<>(List.of(r));
        if (rnd.nextInt(10) == 0) {
          batch.add(Record.write("k" + rnd.nextInt(400), "[" + i + "]", Version.of(base + rnd.nextInt(10_000), 0, 1), 0));
        }
        sent.add(vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(batch)));
        if (i % 700 == 699) {
          sent.add(vertx.eventBus().request(StorageVerticle.ADDRESS,
              new StorageCommand.PurgeTombstones(Version.of(base + 2_000, 0, 0).hlc(), 1000)));
        }
      }
      return Future.all(sent).compose(all -> vertx.undeploy(id));
    }).compose(undeployed -> vertx.executeBlocking(() -> {
      DigestIndex recomputed = new DigestIndex(self, ring);
      int[] rows = {0};
      try (SqliteStore reopened = SqliteStore.open(dataDir, "NORMAL")) {
        reopened.forEachVersion(r -> {
          rows[0]++;
          recomputed.changed(null, r);
        });
      }
      assertTrue(rows[0] > 100, "the table holds the surviving records");
      for (int peer = 1; peer < 5; peer++) {
        assertArrayEquals(recomputed.digestsFor(peer), incremental.digestsFor(peer), "seed " + seed + ", peer " + peer);
      }
      return null;
    }));
  }
}
