package io.distributedsqlite.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * N nodes as separate OS processes on free loopback ports, each with its own data directory
 * under {@code baseDir}. Nodes are launched together and then awaited, so the JVMs start in
 * parallel. Closing kills every process still running (only the ones this cluster started).
 */
public final class ProcessCluster implements AutoCloseable {
  /** Generous: a node JVM under libfaketime, or on a machine shared with other builds, starts slowly. */
  public static final Duration START_TIMEOUT = Duration.ofSeconds(150);

  private final NodeProcess[] nodes;
  private final ClusterHttp http = new ClusterHttp();

  private ProcessCluster(NodeProcess[] nodes) {
    this.nodes = nodes;
  }

  public static ProcessCluster start(int size, int rf, Path baseDir, Map<String, String> extraEnv) {
    return start(size, rf, baseDir, extraEnv, Map.of());
  }

  /** {@code perNodeEnv} adds settings for single nodes on top of {@code extraEnv}. */
  public static ProcessCluster start(int size, int rf, Path baseDir, Map<String, String> extraEnv,
      Map<Integer, Map<String, String>> perNodeEnv) {
    return start(size, rf, baseDir, extraEnv, (id, ports) -> perNodeEnv.getOrDefault(id, Map.of()));
  }

  /**
   * {@code perNodeEnv} computes settings for single nodes from their id and every node's port
   * (e.g. a PEERS list that points one node at a closed port: a one-way partition).
   */
  public static ProcessCluster start(int size, int rf, Path baseDir, Map<String, String> extraEnv,
      java.util.function.BiFunction<Integer, int[], Map<String, String>> perNodeEnv) {
    return start(size, size, rf, baseDir, extraEnv, perNodeEnv);
  }

  /**
   * Starts nodes {@code 0..size-1} (CLUSTER_SIZE={@code size}) of a cluster that may grow to
   * {@code capacity} nodes: every node's PEERS lists all {@code capacity} ordinals, and the nodes
   * from {@code size} on are set up (port, data directory, environment) but not started; start them
   * with {@link #startNodes} to make them join.
   */
  public static ProcessCluster startGrowable(int size, int capacity, int rf, Path baseDir, Map<String, String> extraEnv) {
    return start(size, capacity, rf, baseDir, extraEnv, (id, ports) -> Map.of());
  }

  private static ProcessCluster start(int size, int capacity, int rf, Path baseDir, Map<String, String> extraEnv,
      java.util.function.BiFunction<Integer, int[], Map<String, String>> perNodeEnv) {
    Path jar = NodeProcess.jar();
    int[] ports = new int[capacity];
    for (int i = 0; i < capacity; i++) {
      ports[i] = TestCluster.freePort();
    }
    NodeProcess[] nodes = new NodeProcess[capacity];
    for (int i = 0; i < capacity; i++) {
      Map<String, String> extra = new HashMap<>();
      extra.put("CLUSTER_SIZE", Integer.toString(size));
      extra.putAll(extraEnv);
      extra.putAll(perNodeEnv.apply(i, ports.clone()));
      Path dir = baseDir.resolve("node-" + i);
      nodes[i] = new NodeProcess(jar, i, ports[i], dir, NodeProcess.clusterEnv(i, ports, rf, dir, extra));
    }
    ProcessCluster cluster = new ProcessCluster(nodes);
    try {
      for (int i = 0; i < size; i++) {
        nodes[i].start();
      }
      for (int i = 0; i < size; i++) {
        nodes[i].awaitHealthy(START_TIMEOUT);
      }
      // New databases rebuild from their peers (their first repair round) before they answer reads.
      // A node whose clock is off stays not ready by design (the clock tests start such nodes):
      // it counts as started once its clock is the only reason.
      for (int i = 0; i < size; i++) {
        cluster.awaitReadyOrOnlyClockRefused(i, START_TIMEOUT);
      }
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
    return cluster;
  }

  /** Launches the given nodes together (the JVMs start in parallel) and waits for their health, not for readiness. */
  public void startNodes(int... ids) {
    for (int id : ids) {
      nodes[id].start();
    }
    for (int id : ids) {
      nodes[id].awaitHealthy(START_TIMEOUT);
    }
  }

  /** Waits until node {@code i} answers {@code GET /ready} with 200; fails with its last answer otherwise. */
  public void awaitReady(int i, Duration timeout) {
    ClusterHttp.Response[] last = new ClusterHttp.Response[1];
    if (!Await.poll(timeout, () -> (last[0] = http.get(baseUrl(i) + "/ready")).status() == 200)) {
      throw new IllegalStateException("node " + i + " not ready within " + timeout + ": " + last[0] + "\n" + nodes[i].logTail(20));
    }
  }

  private void awaitReadyOrOnlyClockRefused(int i, Duration timeout) {
    ClusterHttp.Response[] last = new ClusterHttp.Response[1];
    if (!Await.poll(timeout, () -> {
      last[0] = http.get(baseUrl(i) + "/ready");
      io.vertx.core.json.JsonObject body = last[0].json();
      return last[0].status() == 200 || (last[0].status() == 503 && body != null
          && String.valueOf(body.getString("reason")).startsWith("clock_offset"));
    })) {
      throw new IllegalStateException("node " + i + " not ready within " + timeout + ": " + last[0] + "\n" + nodes[i].logTail(20));
    }
  }

  /** Every node this cluster set up, started or not (more than CLUSTER_SIZE for {@link #startGrowable}). */
  public int size() {
    return nodes.length;
  }

  public NodeProcess node(int i) {
    return nodes[i];
  }

  /** Every node's base URL, in node order. */
  public java.util.List<String> baseUrls() {
    java.util.List<String> out = new java.util.ArrayList<>();
    for (int i = 0; i < size(); i++) {
      out.add(baseUrl(i));
    }
    return out;
  }

  public String baseUrl(int i) {
    return nodes[i].baseUrl();
  }

  public void kill9(int i) {
    nodes[i].kill9();
  }

  /** Restarts node {@code i} on its data directory and port and waits for its health. */
  public void restart(int i) {
    nodes[i].restart(START_TIMEOUT);
  }

  /** Restarts node {@code i} (stopped first if running) with its environment changed, see {@link NodeProcess#withEnv}. */
  public void restartWith(int i, Map<String, String> set, java.util.Set<String> unset) {
    nodes[i].close();
    nodes[i] = nodes[i].withEnv(set, unset);
    nodes[i].restart(START_TIMEOUT);
  }

  /**
   * Waits until {@code observer}'s failure detector ({@code GET /cluster}) sees {@code peer} in
   * {@code state} ("up" or "down"); returns whether it did within the timeout.
   */
  public boolean awaitPeerState(int observer, int peer, String state, Duration timeout) {
    return Await.poll(timeout, () -> state.equals(peerState(http, baseUrl(observer), peer)));
  }

  /** The state ("up"/"down") {@code base}'s /cluster shows for {@code peer}, or null without an answer. */
  public static String peerState(ClusterHttp http, String base, int peer) {
    ClusterHttp.Response r = http.get(base + "/cluster");
    JsonObject json = r.status() == 200 ? r.json() : null;
    if (json == null) {
      return null;
    }
    JsonArray list = json.getJsonArray("nodes");
    for (int i = 0; i < list.size(); i++) {
      JsonObject n = list.getJsonObject(i);
      if (n.getInteger("id") == peer) {
        return n.getString("state");
      }
    }
    return null;
  }

  @Override
  public void close() {
    for (NodeProcess n : nodes) {
      if (n != null) {
        try {
          n.close();
        } catch (RuntimeException ignored) {
          // keep killing the others
        }
      }
    }
  }
}
