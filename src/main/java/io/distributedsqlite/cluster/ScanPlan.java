package io.distributedsqlite.cluster;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which nodes a scan asks, and whether their answers cover the whole ring at a read level: the
 * one place that decides it, so a change of membership changes it here only. With hash
 * placement every node holds part of any key range, so a scan asks every node; the answers
 * meet a level when every token range has at least {@code required} of its replicas among the
 * nodes that answered, which is what a quorum read of any single key in that range would need.
 * Immutable; built once per membership view ({@link Placement#scanPlan()}).
 */
public final class ScanPlan {
  private final Placement placement;
  /**
   * The distinct preference lists of the token ranges of the current ring and, during a
   * membership change, of the next ring too: each must have its share of answers (joint quorums).
   */
  private final List<int[]> replicaSets;
  private final int[] nodes;

  public ScanPlan(Placement placement) {
    this.placement = placement;
    Set<String> seen = new LinkedHashSet<>();
    List<int[]> sets = new ArrayList<>();
    java.util.TreeSet<Integer> all = new java.util.TreeSet<>();
    for (Ring ring : placement.changing() ? List.of(placement.current(), placement.next()) : List.of(placement.current())) {
      for (int n : ring.nodes()) {
        all.add(n);
      }
      for (int[] replicas : ring.rangeReplicas()) {
        int[] sorted = replicas.clone();
        Arrays.sort(sorted);
        if (seen.add(Arrays.toString(sorted))) {
          sets.add(sorted);
        }
      }
    }
    this.replicaSets = List.copyOf(sets);
    this.nodes = all.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The nodes a scan page asks, in id order: every member of either ring. */
  public int[] nodesToAsk() {
    return nodes.clone();
  }

  /** Whether the answers of {@code answered} give every token range {@code required} replicas. */
  public boolean covers(BitSet answered, int required) {
    return weakestRange(answered) >= required;
  }

  /** The fewest answering replicas any token range has. */
  public int weakestRange(BitSet answered) {
    int weakest = Integer.MAX_VALUE;
    for (int[] set : replicaSets) {
      int n = 0;
      for (int node : set) {
        if (answered.get(node)) {
          n++;
        }
      }
      weakest = Math.min(weakest, n);
    }
    return weakest == Integer.MAX_VALUE ? 0 : weakest;
  }

  /** Whether {@code node} replicates {@code key}: only replicas' copies count in a scan (others are strays). */
  public boolean counts(String key, int node) {
    return placement.isReplica(key, node);
  }

  /** The replicas of {@code key}, the nodes a scan repairs when they answered with less. */
  public int[] replicasOf(String key) {
    return placement.replicasFor(key).all();
  }
}
