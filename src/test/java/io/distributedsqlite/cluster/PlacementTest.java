package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.cluster.MembershipView.Member;
import io.distributedsqlite.cluster.MembershipView.State;
import io.distributedsqlite.config.Consistency;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Where keys live while members join and leave: pure placement arithmetic over membership views. */
class PlacementTest {
  private static final int KEYS = 5000;

  private static MembershipView view(long epoch, int rf, State... states) {
    List<Member> members = new ArrayList<>();
    for (int i = 0; i < states.length; i++) {
      members.add(new Member(i, "n" + i, "127.0.0.1:" + (9000 + i), states[i]));
    }
    return new MembershipView(epoch, rf, members);
  }

  @Test
  void outsideAChangeTheReplicasAreTheRingsPreferenceList() {
    Placement p = new Placement(view(1, 3, State.NORMAL, State.NORMAL, State.NORMAL, State.NORMAL));
    Ring ring = new Ring(4, 3);
    assertFalse(p.changing());
    assertTrue(p.gainers().isEmpty());
    for (int k = 0; k < 200; k++) {
      ReplicaSet set = p.replicasFor("k" + k);
      assertArrayEquals(ring.replicasFor("k" + k), set.all());
      assertFalse(set.moving());
    }
  }

  @Test
  void aJoiningNodeGainsKeysFromNoOneButTheRingItJoins() {
    Placement joining = new Placement(view(2, 3, State.NORMAL, State.NORMAL, State.NORMAL, State.JOINING));
    assertTrue(joining.changing());
    assertEquals(Set.of(3), joining.gainers(), "only the joining node gains ranges");
    int moving = 0;
    for (int k = 0; k < KEYS; k++) {
      String key = "k" + k;
      ReplicaSet set = joining.replicasFor(key);
      assertArrayEquals(new Ring(3, 3).replicasFor(key), set.current(), "reads and acks of the current ring are unchanged");
      assertArrayEquals(new Ring(4, 3).replicasFor(key), set.next(), "the next ring is the one with node 3 normal");
      if (set.moving()) {
        moving++;
        assertEquals(4, set.all().length, "the joining node is an extra replica: " + key);
        assertTrue(joining.gains(key, 3));
      } else {
        assertFalse(joining.isReplica(key, 3));
      }
    }
    // Node 3 takes about RF/N = 3/4 of the keys as one of their three replicas.
    assertTrue(moving > KEYS * 0.6 && moving < KEYS * 0.9, "keys gaining node 3: " + moving);
  }

  @Test
  void aLeavingNodesRangesGoToTheNodesThatReplaceItAsReplica() {
    Placement leaving = new Placement(view(4, 3, State.NORMAL, State.NORMAL, State.NORMAL, State.NORMAL, State.LEAVING));
    Set<Integer> gainers = leaving.gainers();
    assertFalse(gainers.isEmpty());
    assertFalse(gainers.contains(4), "the leaving node gains nothing");
    for (int k = 0; k < KEYS; k++) {
      String key = "k" + k;
      ReplicaSet set = leaving.replicasFor(key);
      assertArrayEquals(new Ring(5, 3).replicasFor(key), set.current());
      assertArrayEquals(new Ring(4, 3).replicasFor(key), set.next());
      for (int n : set.next()) {
        if (leaving.gains(key, n)) {
          assertTrue(gainers.contains(n));
          int sources = 0;
          for (int s : set.current()) {
            sources += leaving.streamedTo(key, s, n) ? 1 : 0;
          }
          assertEquals(2, sources, "a majority of the current replicas stream " + key + ": one of them has any quorum write");
          assertFalse(leaving.streamedTo(key, n, n));
        }
      }
    }
  }

  @Test
  void leftMembersOwnNothing() {
    Placement after = new Placement(view(5, 3, State.NORMAL, State.NORMAL, State.NORMAL, State.NORMAL, State.LEFT));
    assertFalse(after.changing());
    for (int k = 0; k < 500; k++) {
      assertFalse(after.isReplica("k" + k, 4));
    }
  }

  @Test
  void jointQuorumsOverlapEveryQuorumOfEitherRing() {
    Placement joining = new Placement(view(2, 3, State.NORMAL, State.NORMAL, State.NORMAL, State.JOINING));
    for (int k = 0; k < 300; k++) {
      ReplicaSet set = joining.replicasFor("k" + k);
      if (!set.moving()) {
        continue;
      }
      int[] all = set.all();
      // Every subset that meets QUORUM jointly shares a node with every majority of current and of next.
      for (int mask = 0; mask < 1 << all.length; mask++) {
        int m = mask;
        Set<Integer> took = new java.util.HashSet<>();
        for (int i = 0; i < all.length; i++) {
          if ((m & 1 << i) != 0) {
            took.add(all[i]);
          }
        }
        if (!set.met(Consistency.QUORUM, took::contains)) {
          continue;
        }
        assertTrue(overlapsEveryMajority(took, set.current()), "joint quorum " + took + " misses a majority of " + java.util.Arrays.toString(set.current()));
        assertTrue(overlapsEveryMajority(took, set.next()), "joint quorum " + took + " misses a majority of the next ring");
      }
    }
  }

  private static boolean overlapsEveryMajority(Set<Integer> took, int[] ring) {
    int inside = 0;
    for (int n : ring) {
      inside += took.contains(n) ? 1 : 0;
    }
    // A majority avoids `took` only if the nodes outside it are a majority.
    return ring.length - inside < ring.length / 2 + 1;
  }
}
