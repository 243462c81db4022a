package io.distributedsqlite.config;

import java.lang.management.ManagementFactory;

/**
 * Defaults of the memory-hungry settings, chosen from what this process may use: the memory the
 * JVM sees (the container's limit inside a container, else the machine's memory), the heap the JVM
 * was given (the image's entrypoint sizes it from the same limit) and the cores. Every value it
 * chooses is only a default: the environment variable of the same setting overrides it.
 *
 * <p>Why these shares (BENCHMARKS.md, "Memory"): at a 128 MiB limit the JVM itself (classes, code,
 * threads, GC) takes about half, so what a node keeps on the heap must stay a small part of the
 * other half, and SQLite's page caches live outside the heap, on top of both.
 * <ul>
 *   <li>record cache: 1/8 of the heap, at most 64 MiB;</li>
 *   <li>write queue: 1/32 of the heap counted at 1 KiB per queued write, 256..20,000;</li>
 *   <li>SQLite page cache per connection: 1/256 of the memory, 256 KiB..2 MiB (SQLite's own
 *       default is 2,000 KiB), so the five connections of a 2-core node at 128 MiB hold at most
 *       2.5 MiB;</li>
 *   <li>read connections and HTTP instances: one per core (at least 2 read connections).</li>
 * </ul>
 */
public record MemoryBudget(long memoryBytes, long heapBytes, int cores) {

  private static final long KIB = 1024;
  private static final long MIB = 1024 * KIB;

  /** This JVM's: container-aware total memory, its maximum heap and its cores. */
  public static MemoryBudget ofThisProcess() {
    long memory = Runtime.getRuntime().maxMemory() * 2;
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      memory = os.getTotalMemorySize();
    }
    return new MemoryBudget(memory, Runtime.getRuntime().maxMemory(), Runtime.getRuntime().availableProcessors());
  }

  /** READ_CACHE_BYTES: heap/8, at most 64 MiB. */
  public long readCacheBytes() {
    return Math.min(64 * MIB, heapBytes / 8);
  }

  /** WRITE_QUEUE_MAX: heap/32 at 1 KiB per write, 256..20,000. */
  public int writeQueueMax() {
    return (int) clamp(heapBytes / 32 / KIB, 256, 20_000);
  }

  /** SQLITE_CACHE_KIB: page cache of each SQLite connection, memory/256, 256 KiB..2 MiB. */
  public int sqliteCacheKib() {
    return (int) clamp(memoryBytes / 256 / KIB, 256, 2048);
  }

  /** READ_POOL_SIZE: one per core, at least 2. */
  public int readPoolSize() {
    return Math.max(2, cores);
  }

  /** HTTP_INSTANCES: one per core. */
  public int httpInstances() {
    return Math.max(1, cores);
  }

  private static long clamp(long v, long min, long max) {
    return Math.max(min, Math.min(max, v));
  }
}
