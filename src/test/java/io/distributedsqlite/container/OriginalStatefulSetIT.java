package io.distributedsqlite.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import io.distributedsqlite.support.Await;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.lifecycle.Startables;

/**
 * The project image run exactly as the original's StatefulSet runs its pods: containers named
 * {@code distributed-sqlite-nodes-<i>}, reachable as
 * {@code distributed-sqlite-nodes-<i>.distributed-sqlite-headless.default.svc.cluster.local}, with
 * the original's environment only (NODE_ID = pod name, POD_NAMESPACE, REPLICATION_FACTOR 2,
 * CLUSTER_SIZE 3: no PEERS, no DATA_DIR, no token), a /data volume and the original's memory limit
 * of 128 MiB (no swap). Its clients' requests (POST /set and GET /get without w or r) run at 64
 * connections, first writes, then reads, each phase {@value #PHASE_SECONDS} s by default; then no
 * container may have been OOM-killed, have exited or restarted, no request may have failed, and
 * the written keys must be on exactly RF nodes.
 *
 * <p>Measurement knobs (BENCHMARKS.md's memory table comes from them; the defaults are the test):
 * {@code -Ddsqlite.memoryLimit=256m}, {@code -Ddsqlite.phaseSeconds=30},
 * {@code -Ddsqlite.nmt=true} (native memory tracking: each JVM prints its summary when stopped).
 */
@Testcontainers(disabledWithoutDocker = true)
class OriginalStatefulSetIT {

  private static final String IMAGE = System.getProperty("dsqlite.image", "distributed-sqlite:test");
  private static final String SET = "distributed-sqlite-nodes";
  private static final String HEADLESS = "distributed-sqlite-headless";
  private static final String LABEL = "io.distributedsqlite.test.original-statefulset";
  private static final int NODES = 3;
  private static final int RF = 2;
  private static final int PORT = 8080;
  private static final int CONNECTIONS = 64;
  private static final int PHASE_SECONDS = 32;
  private static final long MEMORY_LIMIT = bytes(System.getProperty("dsqlite.memoryLimit", "128m"));
  private static final Duration PHASE = Duration.ofSeconds(Integer.getInteger("dsqlite.phaseSeconds", PHASE_SECONDS));
  private static final boolean NMT = Boolean.getBoolean("dsqlite.nmt");
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  /** Keys whose placement is checked on every node at the end. */
  private static final int PLACEMENT_SAMPLE = 300;

  static {
    for (String noisy : List.of("org.testcontainers", "com.github.dockerjava", "tc")) {
      if (LoggerFactory.getLogger(noisy) instanceof ch.qos.logback.classic.Logger logger) {
        logger.setLevel(ch.qos.logback.classic.Level.WARN);
      }
    }
  }

  private static Vertx vertx;

  @BeforeAll
  static void projectImageIsBuilt() {
    ContainerClusterIT.projectImageIsBuilt();
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeClient() throws Exception {
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void originalStatefulSetRunsTheImageWithinItsMemoryLimitUnderWriteAndReadLoad() throws Exception {
    String run = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
    DockerClient docker = DockerClientFactory.instance().client();
    List<String> volumes = new ArrayList<>();
    List<GenericContainer<?>> pods = new ArrayList<>();
    removeLeftoversOfEarlierRuns(docker);
    try (Network network = Network.newNetwork()) {
      for (int i = 0; i < NODES; i++) {
        String pod = SET + "-" + i;
        String volume = "dsqlite-orig-" + run + "-" + i;
        volumes.add(volume);
        GenericContainer<?> c = new GenericContainer<>(IMAGE)
            .withNetwork(network)
            .withNetworkAliases(pod + "." + HEADLESS + ".default.svc.cluster.local")
            .withExposedPorts(PORT)
            // The original StatefulSet's environment, nothing else.
            .withEnv("NODE_ID", pod)
            .withEnv("POD_NAMESPACE", "default")
            .withEnv("REPLICATION_FACTOR", Integer.toString(RF))
            .withEnv("CLUSTER_SIZE", Integer.toString(NODES))
            .withCreateContainerCmdModifier(cmd -> {
              cmd.withName(pod).withHostName(pod).withLabels(new java.util.HashMap<>(Map.of(LABEL, run)));
              cmd.getHostConfig()
                  .withMemory(MEMORY_LIMIT)
                  .withMemorySwap(MEMORY_LIMIT)
                  .withMounts(List.of(new Mount().withType(MountType.VOLUME).withSource(volume).withTarget("/data")));
            })
            .waitingFor(Wait.forHttp("/health").forPort(PORT).forStatusCode(200).withStartupTimeout(Duration.ofSeconds(120)));
        if (NMT) {
          c.withEnv("JAVA_TOOL_OPTIONS", "-XX:NativeMemoryTracking=summary -XX:+UnlockDiagnosticVMOptions -XX:+PrintNMTStatistics");
        }
        pods.add(c);
      }
      try {
        runScenario(docker, pods);
      } catch (Throwable t) {
        dumpLogs(pods);
        throw t;
      } finally {
        for (GenericContainer<?> c : pods) {
          stopGracefully(docker, c);
        }
        for (String v : volumes) {
          try {
            docker.removeVolumeCmd(v).exec();
          } catch (RuntimeException ignored) {
            // not created or already gone
          }
        }
      }
    }
  }

  private void runScenario(DockerClient docker, List<GenericContainer<?>> pods) throws Exception {
    long t0 = System.nanoTime();
    Startables.deepStart(pods.stream()).join();
    double startSeconds = (System.nanoTime() - t0) / 1e9;
    List<String> urls = pods.stream().map(c -> "http://127.0.0.1:" + c.getMappedPort(PORT)).toList();
    List<Memory> memory = pods.stream().map(c -> new Memory(docker, c.getContainerId())).toList();
    Client client = new Client(vertx, pods);
    Await.until("every node sees every node up", Duration.ofSeconds(60), () -> allUp(client));
    double upSeconds = (System.nanoTime() - t0) / 1e9;
    memory.forEach(Memory::sample);
    long[] idle = memory.stream().mapToLong(Memory::current).toArray();

    Map<String, String> written = new ConcurrentHashMap<>();
    Load writes;
    try (Sampler sampler = new Sampler(memory)) {
      writes = Load.run(client, PHASE, (node, seq) -> {
        String key = "orig-" + seq;
        String value = "{\"seq\":" + seq + ",\"node\":" + node + ",\"pad\":\"" + "x".repeat(60) + "\"}";
        return client.set(node, key, value).map(r -> {
          if (r.status() == 200) {
            written.put(key, value);
            return null;
          }
          return "write " + key + " via node " + node + ": HTTP " + r.status() + " " + r.body();
        });
      });
    }
    long[] underWrites = memory.stream().mapToLong(Memory::takePeak).toArray();
    List<String> keys = new ArrayList<>(written.keySet());
    assertFalse(keys.isEmpty(), "no write was acknowledged: " + writes.summary());
    Load reads;
    try (Sampler sampler = new Sampler(memory)) {
      reads = Load.run(client, PHASE, (node, seq) -> {
        String key = keys.get(ThreadLocalRandom.current().nextInt(keys.size()));
        return client.get(node, key).map(r -> r.status() == 200 && written.get(key).equals(r.value())
            ? null : "read " + key + " via node " + node + ": HTTP " + r.status() + " " + r.body());
      });
    }
    long[] underReads = memory.stream().mapToLong(Memory::takePeak).toArray();

    System.out.printf(Locale.ROOT, "memory limit %d MiB: %d nodes answered /health after %.1f s, all up after %.1f s%n",
        MEMORY_LIMIT >> 20, NODES, startSeconds, upSeconds);
    System.out.printf(Locale.ROOT, "resident MiB per node (%s): idle %s, writes peak %s, reads peak %s%n",
        memory.get(0).source(), mib(idle), mib(underWrites), mib(underReads));
    System.out.printf(Locale.ROOT, "writes (%d connections, %d s): %s%n", CONNECTIONS, PHASE.toSeconds(), writes.summary());
    System.out.printf(Locale.ROOT, "reads  (%d connections, %d s): %s%n", CONNECTIONS, PHASE.toSeconds(), reads.summary());

    for (int i = 0; i < pods.size(); i++) {
      InspectContainerResponse.ContainerState state = docker.inspectContainerCmd(pods.get(i).getContainerId()).exec().getState();
      String pod = SET + "-" + i;
      assertFalse(Boolean.TRUE.equals(state.getOOMKilled()), pod + " was OOM-killed");
      assertTrue(Boolean.TRUE.equals(state.getRunning()), pod + " is not running: " + state);
      assertEquals(0, docker.inspectContainerCmd(pods.get(i).getContainerId()).exec().getRestartCount(), pod + " restarted");
    }
    writes.assertNoErrors("writes");
    reads.assertNoErrors("reads");
    assertTrue(writes.ok() > 0 && reads.ok() > 0, "both phases did work");
    assertEveryKeyOnExactlyRfNodes(client, keys);
    client.close();
  }

  /** A sample of the written keys is, once background replication settles, on exactly RF nodes. */
  private void assertEveryKeyOnExactlyRfNodes(Client client, List<String> keys) {
    List<String> sample = new ArrayList<>(keys);
    Collections.shuffle(sample);
    sample = sample.subList(0, Math.min(PLACEMENT_SAMPLE, sample.size()));
    List<String> wrong = new ArrayList<>();
    for (String key : sample) {
      int[] holders = {0};
      Await.poll(Duration.ofSeconds(30), () -> {
        holders[0] = 0;
        for (int n = 0; n < NODES; n++) {
          if (client.internalGet(n, key) == 200) {
            holders[0]++;
          }
        }
        return holders[0] >= RF;
      });
      if (holders[0] != RF) {
        wrong.add(key + " on " + holders[0] + " nodes");
      }
    }
    System.out.printf("placement: %d of %d written keys checked, %d not on exactly %d nodes%n",
        sample.size(), keys.size(), wrong.size(), RF);
    assertEquals(List.of(), wrong.subList(0, Math.min(10, wrong.size())), wrong.size() + " keys not on exactly RF nodes");
  }

  private static boolean allUp(Client client) {
    for (int n = 0; n < NODES; n++) {
      ClientResponse r = client.request(HttpMethod.GET, n, "/cluster", null);
      if (r.status() != 200) {
        return false;
      }
      var nodes = new JsonObject(r.body()).getJsonArray("nodes");
      if (nodes.size() != NODES || !nodes.stream().allMatch(o -> "up".equals(((JsonObject) o).getString("state")))) {
        return false;
      }
    }
    return true;
  }

  /** Containers of a run that was killed before its cleanup (only this test's label). */
  private static void removeLeftoversOfEarlierRuns(DockerClient docker) {
    for (var c : docker.listContainersCmd().withShowAll(true).withLabelFilter(List.of(LABEL)).exec()) {
      docker.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
    }
  }

  private static void stopGracefully(DockerClient docker, GenericContainer<?> c) {
    if (c.getContainerId() == null) {
      return;
    }
    try {
      docker.stopContainerCmd(c.getContainerId()).withTimeout(15).exec();
      if (NMT) {
        String logs = c.getLogs();
        int at = logs.indexOf("Native Memory Tracking");
        System.out.println("----- " + c.getContainerInfo().getName() + " NMT at exit -----");
        System.out.println(at < 0 ? "(no NMT summary in the log)" : logs.substring(at));
      }
    } catch (RuntimeException ignored) {
      // already stopped
    }
    c.stop();
  }

  private static void dumpLogs(List<GenericContainer<?>> pods) {
    for (GenericContainer<?> c : pods) {
      try {
        List<String> lines = c.getLogs().lines().toList();
        System.out.println("----- " + c.getContainerName() + " (last 40 log lines) -----");
        lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(System.out::println);
      } catch (RuntimeException e) {
        System.out.println("----- no logs: " + e.getMessage());
      }
    }
  }

  // --- load -----------------------------------------------------------------------------------

  /** One request of a load phase: given the node to ask and a sequence number, null or an error. */
  @FunctionalInterface
  interface Operation {
    Future<String> run(int node, int seq);
  }

  /**
   * {@link #CONNECTIONS} request loops, spread evenly over the nodes (as a Service spreads its
   * clients' connections), each sending its next request when the previous answered, for a fixed
   * time. Counts answers and keeps the first errors.
   */
  static final class Load {
    private final AtomicInteger ok = new AtomicInteger();
    private final AtomicInteger errors = new AtomicInteger();
    private final List<String> firstErrors = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger seq = new AtomicInteger();
    private double seconds;

    static Load run(Client client, Duration duration, Operation op) throws InterruptedException {
      Load load = new Load();
      long t0 = System.nanoTime();
      long deadline = t0 + duration.toNanos();
      java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(CONNECTIONS);
      for (int c = 0; c < CONNECTIONS; c++) {
        int node = c % NODES;
        client.vertx.runOnContext(v -> load.loop(op, node, deadline, done));
      }
      if (!done.await(duration.plus(REQUEST_TIMEOUT).plusSeconds(10).toMillis(), TimeUnit.MILLISECONDS)) {
        fail("load loops did not finish: " + load.summary());
      }
      load.seconds = (System.nanoTime() - t0) / 1e9;
      return load;
    }

    private void loop(Operation op, int node, long deadline, java.util.concurrent.CountDownLatch done) {
      if (System.nanoTime() >= deadline) {
        done.countDown();
        return;
      }
      op.run(node, seq.getAndIncrement())
          .otherwise(e -> "node " + node + ": " + e)
          .onComplete(ar -> {
            if (ar.result() == null) {
              ok.incrementAndGet();
            } else {
              errors.incrementAndGet();
              if (firstErrors.size() < 10) {
                firstErrors.add(ar.result());
              }
            }
            loop(op, node, deadline, done);
          });
    }

    int ok() {
      return ok.get();
    }

    String summary() {
      return String.format(Locale.ROOT, "%d ok (%.0f/s), %d errors", ok.get(), ok.get() / Math.max(seconds, 1e-9), errors.get());
    }

    void assertNoErrors(String what) {
      assertEquals(List.of(), List.copyOf(firstErrors), what + ": " + summary());
      assertEquals(0, errors.get(), what + ": " + summary());
    }
  }

  record ClientResponse(int status, String body) {
    /** The stored value's JSON text, as the node returned it. */
    String value() {
      Object v = new JsonObject(body).getValue("value");
      return v instanceof JsonObject o ? o.encode() : String.valueOf(v);
    }
  }

  /** The original's clients: plain HTTP/1.1 to each node's published port, no consistency parameters. */
  static final class Client {
    final Vertx vertx;
    private final List<HttpClient> clients = new ArrayList<>();

    Client(Vertx vertx, List<GenericContainer<?>> pods) {
      this.vertx = vertx;
      for (GenericContainer<?> pod : pods) {
        clients.add(vertx.createHttpClient(
            new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(pod.getMappedPort(PORT)),
            new PoolOptions().setHttp1MaxSize(CONNECTIONS / NODES + 1)));
      }
    }

    Future<ClientResponse> set(int node, String key, String valueJson) {
      String body = "{\"key\":\"" + key + "\",\"value\":" + valueJson + "}";
      return send(HttpMethod.POST, node, "/set", body);
    }

    Future<ClientResponse> get(int node, String key) {
      return send(HttpMethod.GET, node, "/get?key=" + URLEncoder.encode(key, StandardCharsets.UTF_8), null);
    }

    int internalGet(int node, String key) {
      return request(HttpMethod.GET, node, "/internal/get?key=" + URLEncoder.encode(key, StandardCharsets.UTF_8), null).status();
    }

    ClientResponse request(HttpMethod method, int node, String uri, String body) {
      try {
        return send(method, node, uri, body).await(REQUEST_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        return new ClientResponse(0, e.toString());
      }
    }

    private Future<ClientResponse> send(HttpMethod method, int node, String uri, String body) {
      RequestOptions options = new RequestOptions().setMethod(method).setURI(uri).setIdleTimeout(REQUEST_TIMEOUT.toMillis());
      if (body != null) {
        options.putHeader("Content-Type", "application/json");
      }
      return clients.get(node).request(options)
          .compose(req -> body == null ? req.send() : req.send(Buffer.buffer(body)))
          .compose(resp -> resp.body().map(b -> new ClientResponse(resp.statusCode(), b.toString(StandardCharsets.UTF_8))));
    }

    void close() {
      clients.forEach(c -> c.close());
    }
  }

  // --- memory ---------------------------------------------------------------------------------

  /**
   * A container's resident memory: the JVM's VmRSS from /proc on this host when the container's
   * processes are visible here (a local engine), else the cgroup's usage without page cache as the
   * engine reports it (docker stats). Remembers the highest sample since the last {@link #takePeak()}.
   */
  static final class Memory {
    private final DockerClient docker;
    private final String id;
    private final Path status;
    private final AtomicLong current = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();

    Memory(DockerClient docker, String id) {
      this.docker = docker;
      this.id = id;
      Long pid = docker.inspectContainerCmd(id).exec().getState().getPidLong();
      Path p = pid == null ? null : Path.of("/proc", Long.toString(pid), "status");
      this.status = p != null && Files.isReadable(p) ? p : null;
    }

    String source() {
      return status != null ? "VmRSS" : "docker stats usage - cache";
    }

    void sample() {
      long bytes = status != null ? vmRss() : statsUsage();
      current.set(bytes);
      peak.accumulateAndGet(bytes, Math::max);
    }

    long current() {
      return current.get();
    }

    long takePeak() {
      return peak.getAndSet(0);
    }

    private long vmRss() {
      try {
        for (String line : Files.readAllLines(status)) {
          if (line.startsWith("VmRSS:")) {
            return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
          }
        }
      } catch (IOException | RuntimeException e) {
        // the process is gone: the assertions on the container's state say why
      }
      return 0;
    }

    private long statsUsage() {
      var callback = new com.github.dockerjava.api.async.ResultCallback.Adapter<com.github.dockerjava.api.model.Statistics>() {
        volatile com.github.dockerjava.api.model.Statistics stats;

        @Override
        public void onNext(com.github.dockerjava.api.model.Statistics s) {
          stats = s;
        }
      };
      try {
        docker.statsCmd(id).withNoStream(true).exec(callback).awaitCompletion(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      var m = callback.stats == null ? null : callback.stats.getMemoryStats();
      if (m == null || m.getUsage() == null) {
        return 0;
      }
      Long cache = m.getStats() == null ? null : m.getStats().getCache();
      return m.getUsage() - (cache == null ? 0 : cache);
    }
  }

  /** Samples every container's memory every 250 ms until closed. */
  static final class Sampler implements AutoCloseable {
    private final Thread thread;
    private volatile boolean stopped;

    Sampler(List<Memory> memory) {
      thread = new Thread(() -> {
        while (!stopped) {
          memory.forEach(Memory::sample);
          sleep(250);
        }
      }, "memory-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      stopped = true;
      thread.join(10_000);
    }
  }

  // --- helpers --------------------------------------------------------------------------------

  private static String mib(long[] bytes) {
    List<String> out = new ArrayList<>();
    for (long b : bytes) {
      out.add(Long.toString(b >> 20));
    }
    return String.join("/", out);
  }

  static long bytes(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    long unit = t.endsWith("g") ? 1L << 30 : t.endsWith("m") ? 1L << 20 : 1;
    return Long.parseLong(unit == 1 ? t : t.substring(0, t.length() - 1)) * unit;
  }

  private static boolean sleep(long millis) {
    try {
      Thread.sleep(millis);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
