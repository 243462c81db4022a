package io.distributedsqlite.cluster;

import io.distributedsqlite.config.Consistency;
import java.util.function.IntPredicate;

/**
 * The replicas of one key under a membership view. Outside a change {@code current} and
 * {@code next} are the same list. During a change (a member joining or leaving) {@code current}
 * is the preference list of the ring before it and {@code next} the one after it; a request goes
 * to {@link #all()} of them and meets a level only when it is met among the current replicas and
 * among the next ones (joint quorums), so a write acknowledged under either ring is seen by a read
 * under either, whichever of the two the nodes involved run with.
 */
public record ReplicaSet(int[] current, int[] next, int[] all) {

  /** A key's replicas outside a change. */
  public static ReplicaSet of(int[] replicas) {
    return new ReplicaSet(replicas, replicas, replicas);
  }

  /** A key's replicas during a change: {@code all} is current followed by the next-only ones. */
  public static ReplicaSet joint(int[] current, int[] next) {
    int extra = 0;
    for (int n : next) {
      extra += contains(current, n) ? 0 : 1;
    }
    if (extra == 0 && current.length == next.length) {
      return new ReplicaSet(current, next, current);
    }
    int[] all = java.util.Arrays.copyOf(current, current.length + extra);
    int i = current.length;
    for (int n : next) {
      if (!contains(current, n)) {
        all[i++] = n;
      }
    }
    return new ReplicaSet(current, next, all);
  }

  /** Whether the key's replicas differ between the two rings. */
  public boolean moving() {
    return all.length != current.length || !java.util.Arrays.equals(current, next);
  }

  public boolean contains(int node) {
    return contains(all, node);
  }

  /**
   * Whether {@code level} is met by the nodes {@code took} accepts: among the current and among the
   * next replicas. ONE keeps its meaning during a change: one current replica (a joining node,
   * which may not hold the key yet, never counts alone); the next replicas get the write too, or a
   * hint, like the other replicas of a write at ONE.
   */
  public boolean met(Consistency level, IntPredicate took) {
    if (level == Consistency.ONE) {
      return count(current, took) >= 1;
    }
    return count(current, took) >= level.required(current.length) && count(next, took) >= level.required(next.length);
  }

  private static int count(int[] nodes, IntPredicate took) {
    int n = 0;
    for (int node : nodes) {
      n += took.test(node) ? 1 : 0;
    }
    return n;
  }

  static boolean contains(int[] ids, int id) {
    for (int i : ids) {
      if (i == id) {
        return true;
      }
    }
    return false;
  }
}
