package io.distributedsqlite.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One node as a separate OS process ({@code java -jar <shaded jar>}), configured through its
 * environment like in production. Output goes to {@code <dataDir>/../node-<id>.log} (appended across
 * restarts). {@link #kill9()} is SIGKILL (no shutdown hook, nothing flushed beyond what SQLite
 * already committed), {@link #terminate()} is SIGTERM (graceful shutdown). {@link #start()} again
 * restarts on the same data directory and port.
 */
public final class NodeProcess implements AutoCloseable {
  /** The shaded jar failsafe passes as {@code -Ddsqlite.jar}. */
  /** An empty directory for one IT's node data under the jar's folder ({@code it-nodes/<name>}), emptied first. */
  public static Path itDir(String name) throws java.io.IOException {
    Path d = jar().toAbsolutePath().getParent().resolve("it-nodes").resolve(name);
    if (java.nio.file.Files.exists(d)) {
      try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(d)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    java.nio.file.Files.createDirectories(d);
    return d;
  }

  public static Path jar() {
    String p = System.getProperty("dsqlite.jar");
    if (p == null || p.isBlank()) {
      throw new IllegalStateException("system property dsqlite.jar is not set (run through failsafe: mvn verify)");
    }
    Path jar = Path.of(p);
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("dsqlite.jar " + jar + " does not exist (run `package` first)");
    }
    return jar;
  }

  /** Processes started and not yet reaped: killed if the test JVM exits without closing them. */
  private static final java.util.Set<Process> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "kill-node-processes"));
  }

  private final Path jar;
  private final int id;
  private final int port;
  private final Path dataDir;
  private final Path logFile;
  private final Map<String, String> env;
  private final ClusterHttp http = new ClusterHttp();
  private Process process;

  /** {@code env} is the node's complete configuration (NODE_ID, PORT, PEERS, DATA_DIR, ...). */
  public NodeProcess(Path jar, int id, int port, Path dataDir, Map<String, String> env) {
    this.jar = jar;
    this.id = id;
    this.port = port;
    this.dataDir = dataDir;
    this.logFile = dataDir.resolveSibling("node-" + id + ".log");
    this.env = Map.copyOf(env);
  }

  /** The environment of a node of a loopback cluster, with the short timeouts the tests use. */
  public static Map<String, String> clusterEnv(int id, int[] ports, int rf, Path dataDir, Map<String, String> extra) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("NODE_ID", Integer.toString(id));
    env.put("HOST", "127.0.0.1");
    env.put("PORT", Integer.toString(ports[id]));
    env.put("CLUSTER_SIZE", Integer.toString(ports.length));
    env.put("REPLICATION_FACTOR", Integer.toString(rf));
    env.put("PEERS", peers(ports));
    env.put("DATA_DIR", dataDir.toString());
    env.put("PROBE_INTERVAL", "100ms");
    env.put("PEER_TIMEOUT", "1s");
    env.put("HTTP_INSTANCES", "1");
    env.put("READ_POOL_SIZE", "2");
    env.put("SHUTDOWN_TIMEOUT", "2s");
    env.putAll(extra);
    return env;
  }

  /** The PEERS value for nodes on loopback at {@code ports} (index = node id). */
  public static String peers(int[] ports) {
    StringBuilder peers = new StringBuilder();
    for (int p = 0; p < ports.length; p++) {
      peers.append(p == 0 ? "" : ",").append(p).append("=127.0.0.1:").append(ports[p]);
    }
    return peers.toString();
  }

  /**
   * The same node (jar, id, port, data directory) with its environment changed: {@code set} added
   * or replaced, {@code unset} removed; e.g. to restart it with its clock fixed. Not started.
   */
  public NodeProcess withEnv(Map<String, String> set, java.util.Set<String> unset) {
    Map<String, String> changed = new LinkedHashMap<>(env);
    unset.forEach(changed::remove);
    changed.putAll(set);
    return new NodeProcess(jar, id, port, dataDir, changed);
  }

  public int id() {
    return id;
  }

  public int port() {
    return port;
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  public Path dataDir() {
    return dataDir;
  }

  public Path logFile() {
    return logFile;
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  public long pid() {
    return process == null ? -1 : process.pid();
  }

  /** Launches the process without waiting for it; see {@link #awaitHealthy(Duration)}. */
  public synchronized void start() {
    if (isAlive()) {
      throw new IllegalStateException("node " + id + " is running (pid " + process.pid() + ")");
    }
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(List.of(javaBin,
        "-Xmx128m", "-Xss512k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1",
        "-jar", jar.toString()));
    // A clean environment: nothing from the build's environment may change the node's settings.
    Map<String, String> penv = pb.environment();
    String path = penv.get("PATH");
    String home = penv.get("HOME");
    penv.clear();
    if (path != null) {
      penv.put("PATH", path);
    }
    if (home != null) {
      penv.put("HOME", home);
    }
    penv.put("LOG_LEVEL", "INFO");
    penv.putAll(env);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    try {
      Files.createDirectories(dataDir);
      Files.writeString(logFile, "---- start node " + id + " on port " + port + "\n", StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      process = pb.start();
      LIVE.add(process);
      Process started = process;
      process.onExit().thenRun(() -> LIVE.remove(started));
    } catch (IOException e) {
      throw new IllegalStateException("cannot start node " + id + ": " + e.getMessage(), e);
    }
  }

  /** Waits until {@code GET /health} answers 200; fails early (with the log's tail) if the process exits. */
  public void awaitHealthy(Duration timeout) {
    boolean healthy = Await.poll(timeout, () -> {
      if (!isAlive()) {
        throw new IllegalStateException("node " + id + " exited with " + exitCode() + " before it was healthy:\n" + logTail(20));
      }
      return http.get(baseUrl() + "/health").status() == 200;
    });
    if (!healthy) {
      throw new IllegalStateException("node " + id + " not healthy within " + timeout + ":\n" + logTail(20));
    }
  }

  /** Starts (or restarts, same data directory and port) and waits for health. */
  public void restart(Duration timeout) {
    start();
    awaitHealthy(timeout);
  }

  /** SIGKILL: the process dies at once, without its shutdown hook. */
  public synchronized void kill9() {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    waitForExit(Duration.ofSeconds(15));
  }

  /** SIGTERM: the node shuts down gracefully; returns its exit code. */
  public synchronized int terminate(Duration timeout) {
    if (process == null) {
      return -1;
    }
    process.destroy();
    if (!waitForExit(timeout)) {
      process.destroyForcibly();
      waitForExit(Duration.ofSeconds(15));
      throw new IllegalStateException("node " + id + " did not stop within " + timeout + " after SIGTERM; killed");
    }
    return process.exitValue();
  }

  private boolean waitForExit(Duration timeout) {
    try {
      return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private Integer exitCode() {
    return process == null || process.isAlive() ? null : process.exitValue();
  }

  /** The node's whole log (every start appended), or "" before it wrote one. */
  public String log() {
    try {
      return Files.readString(logFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** The last {@code lines} lines of the node's log, for failure messages. */
  public String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public synchronized void close() {
    if (isAlive()) {
      kill9();
    }
  }
}
