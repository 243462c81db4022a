package io.distributedsqlite.cluster;

import io.distributedsqlite.cluster.MembershipView.State;
import io.distributedsqlite.storage.KeyHash;

/**
 * Where keys live under a membership view. The current ring holds the members that own data now
 * ({@code normal} and {@code leaving}); the next ring the members that will own it once the change
 * in progress ends ({@code normal} and {@code joining}). Outside a change they are one ring.
 * Immutable; built once per view.
 */
public final class Placement {
  private final Ring current;
  private final Ring next;
  private final ScanPlan scanPlan;

  public Placement(MembershipView view) {
    this.current = ring(view, State.NORMAL, State.LEAVING);
    Ring after = ring(view, State.NORMAL, State.JOINING);
    this.next = java.util.Arrays.equals(current.nodes(), after.nodes()) ? current : after;
    this.scanPlan = new ScanPlan(this);
  }

  /** Which nodes a scan asks and when their answers cover the ring. */
  public ScanPlan scanPlan() {
    return scanPlan;
  }

  /** A placement over one ring: no change in progress. */
  public Placement(Ring ring) {
    this.current = ring;
    this.next = ring;
    this.scanPlan = new ScanPlan(this);
  }

  private static Ring ring(MembershipView view, State a, State b) {
    int[] ordinals = view.members().stream().filter(m -> m.state() == a || m.state() == b)
        .mapToInt(MembershipView.Member::ordinal).toArray();
    return new Ring(ordinals, Math.min(view.replicationFactor(), Math.max(1, ordinals.length)));
  }

  /** Whether a change is in progress (the rings differ). */
  public boolean changing() {
    return current != next;
  }

  public Ring current() {
    return current;
  }

  public Ring next() {
    return next;
  }

  public ReplicaSet replicasFor(String key) {
    return replicasForHash(KeyHash.of(key));
  }

  public ReplicaSet replicasForHash(long hash) {
    int[] now = current.replicasForHash(hash);
    return changing() ? ReplicaSet.joint(now, next.replicasForHash(hash)) : ReplicaSet.of(now);
  }

  /** Whether {@code node} holds {@code key} under either ring: it takes the key's writes. */
  public boolean isReplica(String key, int node) {
    return replicasFor(key).contains(node);
  }

  /** Whether {@code node} is a replica of {@code key} in the next ring but not in the current one. */
  public boolean gains(String key, int node) {
    ReplicaSet set = replicasFor(key);
    return ReplicaSet.contains(set.next(), node) && !ReplicaSet.contains(set.current(), node);
  }

  /**
   * The nodes that gain ranges in the change in progress (replicas of some key in the next ring
   * but not in the current one): they stream those ranges before the change ends. Empty outside a
   * change. Every segment between two tokens of either ring has one preference list per ring, so
   * looking at each token of both rings finds every gain.
   */
  public java.util.SortedSet<Integer> gainers() {
    java.util.SortedSet<Integer> out = new java.util.TreeSet<>();
    if (!changing()) {
      return out;
    }
    for (Ring ring : java.util.List.of(current, next)) {
      for (long token : ring.tokens()) {
        ReplicaSet set = replicasForHash(token);
        for (int n : set.next()) {
          if (!ReplicaSet.contains(set.current(), n)) {
            out.add(n);
          }
        }
      }
    }
    return out;
  }

  /**
   * Whether {@code source} sends {@code key} to {@code gainer} when streaming: the key is one
   * {@code gainer} gains in this change and {@code source} is one of the first majority of its
   * current replicas (in preference-list order). A write acknowledged at quorum sits on a
   * majority of the current replicas, so one of those sources has it; each key travels to a
   * gainer from that many sources (2 at RF=3), not from all.
   */
  public boolean streamedTo(String key, int source, int gainer) {
    ReplicaSet set = replicasFor(key);
    if (!ReplicaSet.contains(set.next(), gainer) || ReplicaSet.contains(set.current(), gainer)) {
      return false;
    }
    int majority = set.current().length / 2 + 1;
    for (int i = 0; i < majority; i++) {
      if (set.current()[i] == source) {
        return true;
      }
    }
    return false;
  }
}
