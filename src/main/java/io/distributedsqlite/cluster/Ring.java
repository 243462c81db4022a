package io.distributedsqlite.cluster;

import io.distributedsqlite.storage.KeyHash;
import java.util.Arrays;

/**
 * Consistent-hash ring with virtual nodes over a set of node ordinals. The replicas of a key (its
 * preference list) are the first RF distinct nodes clockwise from the key's hash. A node's tokens
 * depend on its ordinal only, so adding a node moves keys only to it and removing one moves only
 * its keys. Pure function of (ordinals, RF, vnodes), so every node computes the same lists.
 */
public final class Ring {
  public static final int DEFAULT_VNODES = 256;

  private final int[] nodes;
  private final int replicationFactor;
  private final long[] tokens;
  private final int[] owners;

  /** A ring over the given node ordinals (distinct, any order). */
  public Ring(int[] ordinals, int replicationFactor, int vnodes) {
    int nodeCount = ordinals.length;
    if (replicationFactor < 1 || replicationFactor > nodeCount) {
      throw new IllegalArgumentException("need 1 <= RF <= N, got RF=" + replicationFactor + " N=" + nodeCount);
    }
    this.nodes = ordinals.clone();
    Arrays.sort(this.nodes);
    this.replicationFactor = replicationFactor;
    int size = nodeCount * vnodes;
    long[][] pairs = new long[size][];
    for (int i = 0; i < nodeCount; i++) {
      int n = nodes[i];
      for (int v = 0; v < vnodes; v++) {
        pairs[i * vnodes + v] = new long[] {KeyHash.of("node-" + n + "#vnode-" + v), n};
      }
    }
    // Ties between tokens (astronomically rare) are broken by node id, deterministically.
    Arrays.sort(pairs, (a, b) -> a[0] != b[0] ? Long.compareUnsigned(a[0], b[0]) : Long.compare(a[1], b[1]));
    tokens = new long[size];
    owners = new int[size];
    for (int i = 0; i < size; i++) {
      tokens[i] = pairs[i][0];
      owners[i] = (int) pairs[i][1];
    }
  }

  public Ring(int[] ordinals, int replicationFactor) {
    this(ordinals, replicationFactor, DEFAULT_VNODES);
  }

  /** A ring over nodes 0..nodeCount-1. */
  public Ring(int nodeCount, int replicationFactor, int vnodes) {
    this(firstOrdinals(nodeCount), replicationFactor, vnodes);
  }

  public Ring(int nodeCount, int replicationFactor) {
    this(nodeCount, replicationFactor, DEFAULT_VNODES);
  }

  private static int[] firstOrdinals(int n) {
    int[] out = new int[Math.max(0, n)];
    for (int i = 0; i < out.length; i++) {
      out[i] = i;
    }
    return out;
  }

  public int nodeCount() {
    return nodes.length;
  }

  /** The ordinals on the ring, ascending. */
  public int[] nodes() {
    return nodes.clone();
  }

  /** The tokens (virtual node positions) in ring order. */
  long[] tokens() {
    return tokens.clone();
  }

  public int replicationFactor() {
    return replicationFactor;
  }

  public int[] replicasFor(String key) {
    return replicasForHash(KeyHash.of(key));
  }

  /** The preference list for a hash: RF distinct node ids, primary first. */
  public int[] replicasForHash(long hash) {
    int[] out = new int[replicationFactor];
    int found = 0;
    int i = firstAtOrAfter(hash);
    for (int step = 0; step < tokens.length && found < replicationFactor; step++) {
      int owner = owners[(i + step) % tokens.length];
      boolean seen = false;
      for (int k = 0; k < found; k++) {
        seen |= out[k] == owner;
      }
      if (!seen) {
        out[found++] = owner;
      }
    }
    return out;
  }

  public boolean isReplica(String key, int nodeId) {
    for (int r : replicasFor(key)) {
      if (r == nodeId) {
        return true;
      }
    }
    return false;
  }

  /** The preference list of every token range of the ring (one per virtual node, in ring order). */
  public int[][] rangeReplicas() {
    int[][] out = new int[tokens.length][];
    for (int i = 0; i < tokens.length; i++) {
      out[i] = replicasForHash(tokens[i]);
    }
    return out;
  }

  /** Share of the token space each node is a replica of, divided by RF (sums to 1); indexed by ordinal. */
  public double[] ownership() {
    double[] share = new double[nodes[nodes.length - 1] + 1];
    for (int i = 0; i < tokens.length; i++) {
      long from = tokens[(i - 1 + tokens.length) % tokens.length];
      long width = tokens[i] - from; // unsigned arithmetic wraps correctly around the ring
      double fraction = tokens.length == 1 ? 1.0 : toUnsignedDouble(width) / Math.pow(2, 64);
      for (int r : replicasForHash(tokens[i])) {
        share[r] += fraction / replicationFactor;
      }
    }
    return share;
  }

  private int firstAtOrAfter(long hash) {
    int lo = 0;
    int hi = tokens.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (Long.compareUnsigned(tokens[mid], hash) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo == tokens.length ? 0 : lo;
  }

  private static double toUnsignedDouble(long v) {
    double d = (double) (v >>> 1) * 2.0;
    return d + (v & 1);
  }
}
