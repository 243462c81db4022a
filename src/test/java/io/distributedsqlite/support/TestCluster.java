package io.distributedsqlite.support;

import io.distributedsqlite.Node;
import io.distributedsqlite.config.NodeConfig;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * N real nodes in this JVM, each on its own Vert.x instance, real HTTP on free loopback ports,
 * its own data directory under {@code baseDir}. Nodes can be stopped and started again on the
 * same directory. Blocking methods: call them from the test thread, not an event loop.
 */
public final class TestCluster implements AutoCloseable {
  private final int size;
  private final int rf;
  private final Path baseDir;
  private final Map<String, String> extraEnv;
  private String namePrefix;
  private final int[] ports;
  private final Node[] nodes;
  private final Map<Integer, Map<String, String>> nodeEnv = new HashMap<>();

  private TestCluster(int size, int spares, int rf, Path baseDir, Map<String, String> extraEnv) {
    this.size = size;
    this.rf = rf;
    this.baseDir = baseDir;
    this.extraEnv = extraEnv;
    this.ports = new int[size + spares];
    this.nodes = new Node[size + spares];
  }

  /**
   * As {@link #start(int, int, Path, Map)}, with {@code spares} more nodes configured (ports and
   * PEERS entries) but not started: nodes {@code size..size+spares-1}, beyond CLUSTER_SIZE, which
   * join the running cluster when {@link #startNode started}.
   */
  public static TestCluster startWithSpares(int size, int spares, int rf, Path baseDir, Map<String, String> extraEnv) {
    TestCluster c = new TestCluster(size, spares, rf, baseDir, extraEnv);
    c.boot();
    return c;
  }

  /** Starts {@code size} nodes with replication factor {@code rf}; {@code extraEnv} overrides settings. */
  public static TestCluster start(int size, int rf, Path baseDir, Map<String, String> extraEnv) {
    return startNamed(size, rf, baseDir, null, extraEnv);
  }

  /**
   * As {@link #start(int, int, Path, Map)}, with NODE_ID set to StatefulSet-style pod names
   * {@code <namePrefix>-<i>} (e.g. {@code distributed-sqlite-nodes-1}) instead of bare ordinals
   * ({@code namePrefix} null: bare ordinals). New databases rebuild from their peers (their first
   * repair round) before they answer reads; this returns once every node is ready.
   */
  public static TestCluster startNamed(int size, int rf, Path baseDir, String namePrefix, Map<String, String> extraEnv) {
    TestCluster c = new TestCluster(size, 0, rf, baseDir, extraEnv);
    c.namePrefix = namePrefix;
    c.boot();
    return c;
  }

  private void boot() {
    for (int i = 0; i < ports.length; i++) {
      ports[i] = freePort();
    }
    for (int i = 0; i < size; i++) {
      startNode(i);
    }
    for (int i = 0; i < size; i++) {
      awaitReady(i, java.time.Duration.ofSeconds(30));
    }
    awaitClocksMeasured();
  }

  /** NODE_ID of node {@code i} as configured. */
  public String nodeName(int i) {
    return namePrefix == null ? Integer.toString(i) : namePrefix + "-" + i;
  }

  /**
   * Waits until every node has measured its clock offset against a majority, so that it
   * coordinates writes: a node is ready before that, and a test that stops a peer right after
   * start-up would otherwise meet 503 clock_offset instead of the behaviour it tests.
   */
  private void awaitClocksMeasured() {
    for (int i = 0; i < size; i++) {
      Node n = nodes[i];
      if (!Await.poll(java.time.Duration.ofSeconds(30), () -> n.services().offsets().refusal() == null)) {
        throw new IllegalStateException("node " + i + " coordinates no writes: " + n.services().offsets().refusal());
      }
    }
  }

  /** Waits until node {@code i} reports ready (e.g. done rebuilding); fails with its reason otherwise. */
  public void awaitReady(int i, java.time.Duration timeout) {
    if (!Await.poll(timeout, () -> nodes[i] != null && nodes[i].health().ready())) {
      throw new IllegalStateException("node " + i + " not ready within " + timeout + ": "
          + (nodes[i] == null ? "stopped" : nodes[i].health().reason()));
    }
  }

  public static TestCluster start(int size, int rf, Path baseDir) {
    return start(size, rf, baseDir, Map.of());
  }

  public int size() {
    return size;
  }

  public int port(int i) {
    return ports[i];
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
    return "http://127.0.0.1:" + ports[i];
  }

  public Path dataDir(int i) {
    return baseDir.resolve("node-" + i);
  }

  public Node node(int i) {
    return nodes[i];
  }

  public boolean isRunning(int i) {
    return nodes[i] != null;
  }

  /** The environment node {@code i} starts with. */
  public Map<String, String> env(int i) {
    StringBuilder peers = new StringBuilder();
    for (int p = 0; p < ports.length; p++) {
      peers.append(p == 0 ? "" : ",").append(p).append("=127.0.0.1:").append(ports[p]);
    }
    Map<String, String> env = new HashMap<>();
    env.put("NODE_ID", nodeName(i));
    env.put("HOST", "127.0.0.1");
    env.put("PORT", Integer.toString(ports[i]));
    env.put("CLUSTER_SIZE", Integer.toString(size));
    env.put("REPLICATION_FACTOR", Integer.toString(rf));
    env.put("PEERS", peers.toString());
    env.put("DATA_DIR", dataDir(i).toString());
    env.put("HTTP_INSTANCES", "1");
    env.put("READ_POOL_SIZE", "2");
    env.put("PROBE_INTERVAL", "100ms");
    env.put("PEER_TIMEOUT", "1s");
    env.put("SHUTDOWN_TIMEOUT", "2s");
    env.putAll(extraEnv);
    env.putAll(nodeEnv.getOrDefault(i, Map.of()));
    return env;
  }

  /** Settings for node {@code i} alone, on top of the cluster's, from its next start on. */
  public void setNodeEnv(int i, Map<String, String> env) {
    nodeEnv.put(i, Map.copyOf(env));
  }

  public void startNode(int i) {
    if (nodes[i] != null) {
      throw new IllegalStateException("node " + i + " is running");
    }
    NodeConfig config = NodeConfig.fromEnvironment(env(i));
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2).setWorkerPoolSize(4));
    try {
      nodes[i] = Node.start(vertx, config).await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("node " + i + " did not start", e);
    }
  }

  /** Graceful stop (as on SIGTERM): in-flight requests finish, queued writes commit, SQLite closes. */
  public void stopNode(int i) {
    Node n = nodes[i];
    if (n == null) {
      return;
    }
    nodes[i] = null;
    try {
      n.stop().eventually(() -> n.vertx().close()).await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("node " + i + " did not stop", e);
    }
  }

  @Override
  public void close() {
    for (int i = 0; i < nodes.length; i++) {
      try {
        stopNode(i);
      } catch (RuntimeException ignored) {
        // keep stopping the others
      }
    }
  }

  /**
   * A free loopback port below the kernel's ephemeral range (32768 and up), so that no outbound
   * connection of a node started earlier can take it before the node meant for it binds it.
   * Never the same port twice in one JVM.
   */
  public static synchronized int freePort() {
    for (int attempt = 0; attempt < 1000; attempt++) {
      int port = 20_000 + RANDOM.nextInt(12_000);
      if (!HANDED_OUT.add(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(true);
        s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IllegalStateException("no free port found in 20000..31999");
  }

  private static final java.util.Random RANDOM = new java.util.Random();
  private static final java.util.Set<Integer> HANDED_OUT = new java.util.HashSet<>();
}
