package io.distributedsqlite.storage;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Hybrid logical clock (Kulkarni et al.): stamps never go backwards, stay close to wall time, and
 * move past any stamp this node has seen from a peer. Thread-safe (a CAS loop) because every HTTP
 * event loop stamps client writes; it is the one piece of state those loops share. Seeded at
 * start-up with the highest stamp in the database, so it never goes backwards across restarts.
 *
 * <p>It also owns the future cap: a stamp more than {@code futureCapMillis} ahead of this node's
 * wall clock {@link #isTooFarAhead is too far ahead}; {@link #observe} ignores it (it never moves
 * the clock), and the storage worker refuses to persist it. One cap, one definition.
 */
public final class HybridLogicalClock {
  private final int nodeId;
  private final LongSupplier wallMillis;
  private final long futureCapMillis;
  private final AtomicLong last;

  public HybridLogicalClock(int nodeId, long persistedHighWater, LongSupplier wallMillis, long futureCapMillis) {
    if (futureCapMillis <= 0) {
      throw new IllegalArgumentException("the future cap must be positive: " + futureCapMillis);
    }
    this.nodeId = nodeId;
    this.wallMillis = wallMillis;
    this.futureCapMillis = futureCapMillis;
    this.last = new AtomicLong(persistedHighWater);
  }

  /** A new stamp for a local event, greater than every stamp issued or observed before. */
  public Version now() {
    long wall = wallMillis.getAsLong() << Version.COUNTER_BITS;
    long next = last.accumulateAndGet(wall, (prev, w) -> Math.max(prev + 1, w));
    return new Version(next, nodeId);
  }

  /** True for a stamp so far ahead of this node's wall clock that accepting it would drag every clock along. */
  public boolean isTooFarAhead(Version v) {
    return v.millis() > wallMillis.getAsLong() + futureCapMillis;
  }

  /**
   * Moves the clock past a stamp seen from a peer, so later local stamps order after it. A stamp
   * beyond the future cap is ignored; returns whether the stamp was within the cap.
   */
  public boolean observe(Version remote) {
    if (isTooFarAhead(remote)) {
      return false;
    }
    last.accumulateAndGet(remote.hlc(), Math::max);
    return true;
  }

  /** The highest stamp issued or observed; what is persisted as the high-water mark. */
  public long highWater() {
    return last.get();
  }

  /** This node's wall clock (epoch milliseconds), the one the stamps follow. */
  public long wallMillis() {
    return wallMillis.getAsLong();
  }

  public long futureCapMillis() {
    return futureCapMillis;
  }

  /**
   * How far the clock runs ahead of the wall clock, in milliseconds (0 or less when it follows
   * it). More than the future cap means the next stamps would be refused by every peer: the
   * persisted high-water mark came from a clock that was once ahead.
   */
  public long aheadOfWallMillis() {
    return (last.get() >>> Version.COUNTER_BITS) - wallMillis.getAsLong();
  }
}
