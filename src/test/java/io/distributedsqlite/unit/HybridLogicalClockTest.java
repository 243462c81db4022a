package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.HybridLogicalClock;
import io.distributedsqlite.storage.Version;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HybridLogicalClockTest {

  private final AtomicLong wall = new AtomicLong(1_700_000_000_000L);

  private static final long CAP = 1_000;

  private HybridLogicalClock clock(int node, long seed) {
    return new HybridLogicalClock(node, seed, wall::get, CAP);
  }

  @Test
  void stampsStayMonotonicWhenTheWallClockGoesBackwards() {
    HybridLogicalClock c = clock(3, 0);
    Version previous = c.now();
    long[] walls = {1_700_000_000_500L, 1_699_999_990_000L, 1_600_000_000_000L, 1_700_000_000_100L, 1_700_000_000_600L};
    for (long w : walls) {
      wall.set(w);
      for (int i = 0; i < 5; i++) {
        Version next = c.now();
        Version before = previous;
        assertTrue(next.isNewerThan(before), () -> next + " should be newer than " + before);
        assertEquals(3, next.nodeId());
        previous = next;
      }
    }
    // Once the wall clock is ahead again, stamps follow wall time again.
    wall.set(1_800_000_000_000L);
    assertEquals(1_800_000_000_000L, c.now().millis());
  }

  @Test
  void counterIncrementsWithinOneMillisecond() {
    HybridLogicalClock c = clock(1, 0);
    long ms = wall.get();
    for (int i = 0; i < 10; i++) {
      Version v = c.now();
      assertEquals(ms, v.millis());
      assertEquals(i, v.counter());
    }
    wall.incrementAndGet();
    Version afterTick = c.now();
    assertEquals(ms + 1, afterTick.millis());
    assertEquals(0, afterTick.counter(), "a new millisecond restarts the counter");
  }

  @Test
  void counterOverflowWithinOneMillisecondStillOrdersStamps() {
    HybridLogicalClock c = clock(1, 0);
    Version previous = c.now();
    for (int i = 0; i < 70_000; i++) {
      Version next = c.now();
      assertTrue(next.isNewerThan(previous));
      previous = next;
    }
  }

  @Test
  void observeMovesPastRemoteStampsFromTheFutureWithinTheCap() {
    HybridLogicalClock c = clock(0, 0);
    Version remote = Version.of(wall.get() + CAP, 42, 7);
    assertTrue(c.observe(remote));
    Version local = c.now();
    assertTrue(local.hlc() > remote.hlc(), () -> local + " should order after " + remote);
    assertTrue(local.isNewerThan(remote));
    assertTrue(c.highWater() >= remote.hlc());
  }

  @Test
  void aStampBeyondTheFutureCapNeverMovesTheClock() {
    HybridLogicalClock c = clock(0, 0);
    Version first = c.now();
    long high = c.highWater();
    Version future = Version.of(wall.get() + CAP + 1, 0, 7);
    assertTrue(c.isTooFarAhead(future));
    assertFalse(c.observe(future));
    assertEquals(high, c.highWater(), "a refused stamp is not taken into the high-water mark");
    Version next = c.now();
    assertTrue(next.isNewerThan(first));
    assertTrue(future.isNewerThan(next), "later local stamps follow the wall clock, not the refused stamp");
    assertFalse(c.isTooFarAhead(Version.of(wall.get() + CAP, 0, 7)), "exactly the cap is still accepted");
  }

  @Test
  void aheadOfWallMeasuresAPersistedHighWaterFromAClockThatRanAhead() {
    HybridLogicalClock c = clock(0, Version.of(wall.get() + 7_200_000, 3, 0).hlc());
    assertEquals(7_200_000, c.aheadOfWallMillis());
    assertTrue(clock(0, 0).aheadOfWallMillis() < 0);
  }

  @Test
  void observingAnOlderStampDoesNotMoveTheClockBack() {
    HybridLogicalClock c = clock(0, 0);
    Version first = c.now();
    long high = c.highWater();
    c.observe(Version.of(wall.get() - 10_000, 0, 9));
    assertEquals(high, c.highWater());
    assertTrue(c.now().isNewerThan(first));
  }

  @Test
  void observingTheLargestWireVersionDoesNotWrapTheClockAround() {
    wall.set(Version.MAX_MILLIS - 1);
    HybridLogicalClock c = clock(1, 0);
    Version largest = Version.parse((Version.MAX_MILLIS - 1) + ".65535.0"); // the largest stamp Version.parse accepts
    assertTrue(c.observe(largest));
    long high = c.highWater();
    Version next = c.now();
    assertTrue(next.hlc() >= largest.hlc(), () -> "the next stamp " + next + " went back below the observed " + largest);
    assertTrue(c.highWater() >= high, () -> "high-water went from " + high + " to " + c.highWater());
  }

  @Test
  void seededHighWaterNeverGoesBackwards() {
    long seed = Version.of(wall.get() + 5_000, 17, 0).hlc();
    HybridLogicalClock c = clock(2, seed);
    assertEquals(seed, c.highWater());
    Version v = c.now();
    assertTrue(v.hlc() > seed, "the first stamp after a restart orders after the persisted high-water");
    long previousHigh = c.highWater();
    for (int i = 0; i < 100; i++) {
      wall.addAndGet(i % 2 == 0 ? -1_000 : 700);
      if (i % 3 == 0) {
        c.observe(Version.of(wall.get(), 0, 1));
      } else {
        c.now();
      }
      long high = c.highWater();
      assertTrue(high >= previousHigh, "high-water went from " + previousHigh + " to " + high);
      previousHigh = high;
    }
  }

  @Test
  void concurrentStampsAreUnique() throws InterruptedException {
    HybridLogicalClock c = clock(0, 0);
    int threads = 4;
    int perThread = 5_000;
    List<List<Long>> seen = new ArrayList<>();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      List<Long> mine = new ArrayList<>(perThread);
      seen.add(mine);
      workers.add(new Thread(() -> {
        long last = -1;
        for (int i = 0; i < perThread; i++) {
          long hlc = c.now().hlc();
          if (hlc <= last) {
            throw new AssertionError("not monotonic within a thread");
          }
          last = hlc;
          mine.add(hlc);
        }
      }));
    }
    workers.forEach(Thread::start);
    for (Thread w : workers) {
      w.join(10_000);
    }
    Set<Long> all = new HashSet<>();
    seen.forEach(all::addAll);
    assertEquals(threads * perThread, all.size(), "every stamp is distinct");
  }
}
