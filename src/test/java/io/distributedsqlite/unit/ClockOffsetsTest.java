package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.cluster.ClockOffsets;
import io.distributedsqlite.storage.HybridLogicalClock;
import io.distributedsqlite.storage.Version;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ClockOffsetsTest {
  private static final long MAX = 500;
  private final AtomicLong wall = new AtomicLong(1_800_000_000_000L);
  private final List<String> problems = new ArrayList<>();

  private ClockOffsets offsets(int self, int size, long highWaterMillis) {
    HybridLogicalClock clock = new HybridLogicalClock(self, Version.of(highWaterMillis, 0, self).hlc(), wall::get, 2 * MAX);
    return new ClockOffsets(self, size, MAX, clock, problems::add);
  }

  @Test
  void theEstimateIsTheSampleWithTheSmallestRoundTrip() {
    ClockOffsets o = offsets(0, 3, 0);
    o.record(1, 900, 400);
    o.record(1, 1_480, 6);
    o.record(1, 1_200, 80);
    ClockOffsets.Estimate e = o.estimate(1);
    assertEquals(1_480, e.offsetMillis());
    assertEquals(3, e.errorMillis(), "the error bound is half the round trip");
    assertNull(o.estimate(2), "no sample, no estimate");
    assertEquals(0, o.estimate(0).offsetMillis(), "a node is never off from itself");
  }

  @Test
  void oldSamplesAgeOutSoAFixedClockIsSeenAsFixed() {
    ClockOffsets o = offsets(0, 3, 0);
    o.record(1, 7_200_000, 1);
    for (int i = 0; i < 8; i++) {
      o.record(1, 3, 10);
    }
    assertEquals(3, o.estimate(1).offsetMillis());
  }

  @Test
  void writesWaitUntilAMajorityIsMeasuredExceptInAOneNodeCluster() {
    ClockOffsets five = offsets(0, 5, 0);
    assertNotNull(five.refusal());
    assertTrue(five.measuring());
    five.record(1, 10, 2);
    five.evaluate();
    assertNotNull(five.refusal(), "itself and one peer are two of five");
    five.record(3, -20, 2);
    five.evaluate();
    assertNull(five.refusal(), "three of five measured");
    assertFalse(five.measuring());
    assertNull(offsets(0, 1, 0).refusal(), "a one-node cluster is exempt");
    assertTrue(problems.isEmpty(), "not having measured yet does not make the node not ready");
  }

  @Test
  void offBeyondTheLimitFromAMajorityRefusesAndRecoversByItself() {
    ClockOffsets o = offsets(2, 3, 0);
    o.record(0, -7_200_000, 4);
    o.record(1, -7_200_010, 4);
    o.evaluate();
    assertNotNull(o.refusal());
    assertFalse(o.measuring());
    assertTrue(o.refusal().contains("MAX_CLOCK_OFFSET"), o.refusal());
    assertTrue(o.refusal().contains("7200000"), () -> "the error names the offset: " + o.refusal());
    assertEquals(1, problems.size());
    for (int i = 0; i < 8; i++) {
      o.record(0, 2, 4);
      o.record(1, -3, 4);
    }
    o.evaluate();
    assertNull(o.refusal());
    assertNull(problems.get(problems.size() - 1), "ready again");
  }

  @Test
  void oneFarPeerOrAnUncertainMeasurementDoesNotRefuse() {
    ClockOffsets o = offsets(0, 3, 0);
    o.record(1, 7_200_000, 4);
    o.record(2, 3, 4);
    o.evaluate();
    assertNull(o.refusal(), "only one of three is off: that one is the problem, not this node");
    ClockOffsets slow = offsets(0, 3, 0);
    slow.record(1, 900, 1_000);
    slow.record(2, 900, 1_000);
    slow.evaluate();
    assertNull(slow.refusal(), "900 ms +/- 500 ms may be within 500 ms: not certainly too far");
  }

  @Test
  void aHighWaterMarkAheadOfTheWallClockRefusesUntilTheWallClockCatchesUp() {
    ClockOffsets o = offsets(0, 1, wall.get() + 20_000);
    assertNotNull(o.refusal());
    assertTrue(o.refusal().contains("high-water"), o.refusal());
    assertEquals(1, problems.size());
    wall.addAndGet(19_500);
    o.evaluate();
    assertNull(o.refusal(), "within the future cap again");
    assertNull(problems.get(problems.size() - 1));
  }
}
