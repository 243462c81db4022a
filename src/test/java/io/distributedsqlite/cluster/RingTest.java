package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Placement on the consistent-hash ring: deterministic, distinct replicas, even spread, small moves on growth. */
class RingTest {
  private static final int KEYS = 100_000;

  private static String key(int i) {
    return "key-" + i;
  }

  @Test
  void twoRingsComputeTheSamePreferenceLists() {
    Ring a = new Ring(5, 3);
    Ring b = new Ring(5, 3);
    for (int i = 0; i < 20_000; i++) {
      assertArrayEquals(a.replicasFor(key(i)), b.replicasFor(key(i)), "key " + key(i));
    }
    assertArrayEquals(a.ownership(), b.ownership(), 0.0);
  }

  @ParameterizedTest(name = "N={0} RF={1}")
  @CsvSource({"1,1", "3,1", "3,3", "4,3", "5,4", "5,5", "7,3"})
  void preferenceListHasRfDistinctNodes(int n, int rf) {
    Ring ring = new Ring(n, rf);
    for (int i = 0; i < 5_000; i++) {
      int[] replicas = ring.replicasFor(key(i));
      assertEquals(rf, replicas.length);
      assertEquals(rf, Arrays.stream(replicas).distinct().count(), "replicas of " + key(i) + ": " + Arrays.toString(replicas));
      for (int r : replicas) {
        assertTrue(r >= 0 && r < n, "node id " + r + " outside 0.." + (n - 1));
        assertTrue(ring.isReplica(key(i), r));
      }
    }
  }

  @Test
  void primaryIsTheFirstReplicaAndTheListExtendsWithRf() {
    Ring rf1 = new Ring(5, 1);
    Ring rf3 = new Ring(5, 3);
    Ring rf5 = new Ring(5, 5);
    for (int i = 0; i < 5_000; i++) {
      int[] one = rf1.replicasFor(key(i));
      int[] three = rf3.replicasFor(key(i));
      int[] five = rf5.replicasFor(key(i));
      assertEquals(one[0], three[0]);
      assertArrayEquals(three, Arrays.copyOf(five, 3));
    }
  }

  @Test
  void invalidReplicationFactorIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Ring(3, 4));
    assertThrows(IllegalArgumentException.class, () -> new Ring(3, 0));
  }

  @Test
  void primaryOwnershipIsEvenAtFiveNodes() {
    assertSpread(new Ring(5, 1));
  }

  @Test
  void replicaCountsAreEvenAtFiveNodesRf3() {
    assertSpread(new Ring(5, 3));
  }

  /** Keys held per node (counting every replica) stay within ±15% of the mean. */
  private static void assertSpread(Ring ring) {
    int n = ring.nodeCount();
    long[] held = new long[n];
    for (int i = 0; i < KEYS; i++) {
      for (int r : ring.replicasFor(key(i))) {
        held[r]++;
      }
    }
    double mean = (double) KEYS * ring.replicationFactor() / n;
    long max = Arrays.stream(held).max().orElseThrow();
    long min = Arrays.stream(held).min().orElseThrow();
    System.out.printf("ring N=%d RF=%d: keys per node %s, mean %.0f, max %+.1f%%, min %+.1f%%%n", n,
        ring.replicationFactor(), Arrays.toString(held), mean, 100 * (max / mean - 1), 100 * (min / mean - 1));
    assertTrue(max <= mean * 1.15, "max " + max + " > mean+15% (" + mean + "): " + Arrays.toString(held));
    assertTrue(min >= mean * 0.85, "min " + min + " < mean-15% (" + mean + "): " + Arrays.toString(held));
  }

  @ParameterizedTest(name = "N={0} -> N+1")
  @CsvSource({"2", "3", "4", "5", "8"})
  void addingANodeMovesAboutOneNthOfTheKeysAndOnlyToTheNewNode(int n) {
    Ring before = new Ring(n, 1);
    Ring after = new Ring(n + 1, 1);
    int moved = 0;
    for (int i = 0; i < KEYS; i++) {
      int from = before.replicasFor(key(i))[0];
      int to = after.replicasFor(key(i))[0];
      if (from != to) {
        moved++;
        assertEquals(n, to, "key " + key(i) + " moved from " + from + " to an old node");
      }
    }
    double expected = 1.0 / (n + 1);
    double share = (double) moved / KEYS;
    System.out.printf("ring %d->%d: moved %.3f of the keys (ideal %.3f)%n", n, n + 1, share, expected);
    assertTrue(share >= 0.5 * expected && share <= 1.5 * expected,
        "moved " + share + " of the keys; expected about " + expected);
  }

  @ParameterizedTest(name = "N={0} RF={1}")
  @CsvSource({"1,1", "3,1", "3,3", "4,3", "5,4", "5,1"})
  void ownershipSumsToOne(int n, int rf) {
    double[] share = new Ring(n, rf).ownership();
    assertEquals(n, share.length);
    assertEquals(1.0, Arrays.stream(share).sum(), 1e-9, Arrays.toString(share));
    for (double s : share) {
      assertTrue(s > 0 && s <= 1.0, Arrays.toString(share));
    }
  }

  @Test
  void ownershipMatchesTheShareOfKeysEachNodeHolds() {
    Ring ring = new Ring(5, 3);
    double[] share = ring.ownership();
    long[] held = new long[5];
    int keys = 50_000;
    for (int i = 0; i < keys; i++) {
      for (int r : ring.replicasFor(key(i))) {
        held[r]++;
      }
    }
    for (int node = 0; node < 5; node++) {
      double observed = (double) held[node] / (keys * 3.0);
      assertEquals(share[node], observed, 0.01, "node " + node + ": ownership " + share[node] + " vs keys " + observed);
    }
  }
}
