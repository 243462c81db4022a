package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.distributedsqlite.config.MemoryBudget;
import io.distributedsqlite.config.NodeConfig;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Memory-aware defaults: small containers get small caches and queues, large ones the old defaults. */
class MemoryBudgetTest {

  private static final long MIB = 1L << 20;

  @Test
  void aPodWith128MiBGetsSmallCachesAndQueues() {
    MemoryBudget b = new MemoryBudget(128 * MIB, 48 * MIB, 2);
    assertEquals(6 * MIB, b.readCacheBytes(), "heap/8");
    assertEquals(1536, b.writeQueueMax(), "heap/32 at 1 KiB per write");
    assertEquals(512, b.sqliteCacheKib(), "memory/256");
    assertEquals(2, b.readPoolSize());
    assertEquals(2, b.httpInstances());
  }

  @Test
  void largeMachinesKeepTheCapsOfTheFixedDefaults() {
    MemoryBudget b = new MemoryBudget(16L << 30, 12L << 30, 8);
    assertEquals(64 * MIB, b.readCacheBytes());
    assertEquals(20_000, b.writeQueueMax());
    assertEquals(2048, b.sqliteCacheKib());
    assertEquals(8, b.readPoolSize());
    assertEquals(8, b.httpInstances());
  }

  @Test
  void tinyHeapsStillGetWorkableFloors() {
    MemoryBudget b = new MemoryBudget(32 * MIB, 4 * MIB, 1);
    assertEquals(512 * 1024, b.readCacheBytes());
    assertEquals(256, b.writeQueueMax());
    assertEquals(256, b.sqliteCacheKib());
    assertEquals(2, b.readPoolSize(), "a read pool of one would serialise point reads and scans");
    assertEquals(1, b.httpInstances());
  }

  @Test
  void theEnvironmentOverridesEveryShare() {
    MemoryBudget b = new MemoryBudget(128 * MIB, 48 * MIB, 2);
    NodeConfig defaults = NodeConfig.fromEnvironment(Map.of(), Optional.empty(), b);
    assertEquals(b.readCacheBytes(), defaults.readCacheBytes());
    assertEquals(b.writeQueueMax(), defaults.writeQueueMax());
    assertEquals(b.sqliteCacheKib(), defaults.sqliteCacheKib());
    NodeConfig set = NodeConfig.fromEnvironment(Map.of("READ_CACHE_BYTES", "0", "WRITE_QUEUE_MAX", "50000",
        "SQLITE_CACHE_KIB", "8192", "READ_POOL_SIZE", "6", "HTTP_INSTANCES", "3"), Optional.empty(), b);
    assertEquals(0, set.readCacheBytes());
    assertEquals(50_000, set.writeQueueMax());
    assertEquals(8192, set.sqliteCacheKib());
    assertEquals(6, set.readPoolSize());
    assertEquals(3, set.httpInstances());
  }
}
