package io.distributedsqlite.storage;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Hybrid logical clock (Kulkarni et al.): stamps never go backwards, stay close to wall time, and
 * move past any stamp this node has seen from a peer. Thread-safe (a CAS loop) because every HTTP
 * event loop stamps client writes; it is the one piece of state those loops share. Seeded at
 * start-up with the highest stamp in the database, so it never goes backwards across restarts.
 */
public final class HybridLogicalClock {
  private final int nodeId;
  private final LongSupplier wallMillis;
  private final AtomicLong last;

  public HybridLogicalClock(int nodeId, long persistedHighWater, LongSupplier wallMillis) {
    this.nodeId = nodeId;
    this.wallMillis = wallMillis;
    this.last = new AtomicLong(persistedHighWater);
  }

  public HybridLogicalClock(int nodeId, long persistedHighWater) {
    this(nodeId, persistedHighWater, System::currentTimeMillis);
  }

  /** A new stamp for a local event, greater than every stamp issued or observed before. */
  public Version now() {
    long wall = wallMillis.getAsLong() << Version.COUNTER_BITS;
    long next = last.accumulateAndGet(wall, (prev, w) -> Math.max(prev + 1, w));
    return new Version(next, nodeId);
  }

  /** How far ahead of this node's wall clock a peer's stamp may be before it is refused. */
  public static final long MAX_DRIFT_MILLIS = 3_600_000;

  /** True for a stamp so far in the future that accepting it would drag every clock along. */
  public static boolean isTooFarAhead(Version v, long wallMillis) {
    return v.millis() > wallMillis + MAX_DRIFT_MILLIS;
  }

  /** Moves the clock past a stamp received from a peer, so later local stamps order after it. */
  public void observe(Version remote) {
    last.accumulateAndGet(remote.hlc(), Math::max);
  }

  /** The highest stamp issued or observed; what is persisted as the high-water mark. */
  public long highWater() {
    return last.get();
  }
}
