package io.distributedsqlite.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ContainerNetwork;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import io.distributedsqlite.support.Await;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.lifecycle.Startables;

/**
 * Real nodes in containers of the project image, named, addressed and configured like the pods
 * of the StatefulSet (NODE_ID=distributed-sqlite-&lt;i&gt;, the DNS alias of the headless service,
 * no PEERS), under the failures a Kubernetes cluster sees: a killed container restarted on its
 * volume, a frozen one, a network partition, a node replaced with an empty volume; and grown by
 * one pod, as {@code kubectl scale} grows the set.
 *
 * <p>Each scenario runs its own cluster on its own Docker network with fixed addresses (as a pod
 * keeps its address across a container restart) and named volumes for /data. The image is built
 * from the packaged jar on the base image of {@code .ci/docker-setup} (see
 * {@link #projectImageIsBuilt()}); without them the class is skipped, or fails when CI=true. Every check
 * polls with a deadline, load is bounded in count and time, and every acknowledged write is read
 * back at the end.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainerClusterIT {

  private static final String IMAGE = System.getProperty("dsqlite.image", "distributed-sqlite:test");
  private static final String BASE_IMAGE = System.getProperty("dsqlite.baseImage", "dsqlite-base:bookworm-jre17");
  private static final String SET = "distributed-sqlite";
  private static final String HEADLESS = SET + "-headless";
  private static final int PORT = 8080;
  private static final Duration PEER_TIMEOUT = Duration.ofSeconds(2);
  /** 500 ms: a probe times out after 2 intervals; shorter ones flap while 5 JVMs warm up on 2 cores. */
  private static final String PROBE_INTERVAL = "500ms";
  private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration CONVERGE = Duration.ofSeconds(60);
  private static final String TOKEN = UUID.randomUUID().toString();

  static {
    for (String noisy : List.of("org.testcontainers", "com.github.dockerjava", "tc")) {
      if (LoggerFactory.getLogger(noisy) instanceof ch.qos.logback.classic.Logger logger) {
        logger.setLevel(ch.qos.logback.classic.Level.WARN);
      }
    }
  }

  private final Http http = new Http();

  /**
   * Under failsafe (system property dsqlite.jar) and with the local base image present, the
   * project image is rebuilt from the jar this build just packaged (seconds; cached when the jar
   * is unchanged), so the tests never run a stale image. Otherwise the image .ci/docker-setup
   * built is used as it is. Without either: fail under CI=true, skip elsewhere.
   */
  @BeforeAll
  static void projectImageIsBuilt() {
    DockerClient docker = DockerClientFactory.instance().client();
    String jar = System.getProperty("dsqlite.jar");
    if (System.getProperty("dsqlite.image") == null && jar != null && Files.isRegularFile(Path.of(jar))
        && imageExists(docker, BASE_IMAGE)) {
      long t0 = System.nanoTime();
      String previous = imageExists(docker, IMAGE) ? docker.inspectImageCmd(IMAGE).exec().getId() : null;
      new ImageFromDockerfile(IMAGE, false)
          .withFileFromPath("Dockerfile", repoRoot().resolve("Dockerfile"))
          .withFileFromPath("target/distributed-sqlite.jar", Path.of(jar))
          .withFileFromPath("src/main/docker/entrypoint.sh", repoRoot().resolve("src/main/docker/entrypoint.sh"))
          .withFileFromPath("src/main/docker/healthcheck.sh", repoRoot().resolve("src/main/docker/healthcheck.sh"))
          .withBuildArg("BASE_IMAGE", BASE_IMAGE)
          .get();
      if (previous != null && !previous.equals(docker.inspectImageCmd(IMAGE).exec().getId())) {
        try {
          docker.removeImageCmd(previous).exec(); // the replaced build, now untagged
        } catch (RuntimeException ignored) {
          // still used by a container: leave it
        }
      }
      System.out.printf("built %s from %s on %s (%d ms)%n", IMAGE, jar, BASE_IMAGE,
          Duration.ofNanos(System.nanoTime() - t0).toMillis());
      return;
    }
    if (!imageExists(docker, IMAGE)) {
      String why = "image " + IMAGE + " is missing: build it with .ci/docker-setup (after mvn package), "
          + "or provide the base image " + BASE_IMAGE + " (.ci/docker-setup --engine-only) and run under failsafe";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(why);
      }
      Assumptions.abort(why);
    }
  }

  private static boolean imageExists(DockerClient docker, String image) {
    try {
      docker.inspectImageCmd(image).exec();
      return true;
    } catch (NotFoundException e) {
      return false;
    }
  }

  /** The folder with the Dockerfile: above the working directory (failsafe: the project) or the jar. */
  private static Path repoRoot() {
    List<Path> starts = new ArrayList<>(List.of(Path.of("").toAbsolutePath()));
    if (System.getProperty("dsqlite.jar") != null) {
      starts.add(Path.of(System.getProperty("dsqlite.jar")).toAbsolutePath().getParent());
    }
    for (Path start : starts) {
      for (Path dir = start; dir != null; dir = dir.getParent()) {
        if (Files.isRegularFile(dir.resolve("Dockerfile"))) {
          return dir;
        }
      }
    }
    throw new IllegalStateException("no Dockerfile above " + starts);
  }

  // --- placement -----------------------------------------------------------------------------

  @ParameterizedTest(name = "{0} nodes, RF {1}")
  @CsvSource({"3,3", "4,3", "5,4"})
  void writeLandsOnExactlyRfNodesAndQuorumReadsSeeItEverywhere(int n, int rf) throws Exception {
    try (Cluster cluster = Cluster.start(n, rf)) {
      cluster.guard(() -> {
        for (Node node : cluster.nodes) {
          Response health = http.get(node, "/health");
          assertEquals(200, health.status, node + " /health");
          assertEquals(node.podName, health.json().getValue("node_id"), node + " node_id is NODE_ID as configured, a JSON string");
        }
        Map<String, JsonObject> written = new LinkedHashMap<>();
        int[] unavailable = {0};
        for (int k = 0; k < 2 * n; k++) {
          Node via = cluster.node(k % n);
          String key = "placement-" + k;
          JsonObject value = new JsonObject().put("k", k).put("via", via.index);
          // This test is about placement, not availability: a 503 from a coordinator whose failure
          // detector briefly suspects a peer (CPU-starved JVMs warming up) is retried and counted.
          Response[] w = {http.set(via, key, value, "quorum")};
          Await.poll(Duration.ofSeconds(30), () -> {
            if (w[0].status != 503) {
              return true;
            }
            unavailable[0]++;
            w[0] = http.set(via, key, value, "quorum");
            return false;
          });
          assertEquals(200, w[0].status, "w=quorum write of " + key + " via " + via + ": " + w[0]);
          written.put(key, value);
        }
        for (var e : written.entrySet()) {
          // Background replication may still run: poll until RF nodes hold it, never more.
          int[] holders = {0};
          Await.until("exactly " + rf + " nodes hold " + e.getKey(), Duration.ofSeconds(20), () -> {
            holders[0] = holders(cluster, e.getKey(), e.getValue());
            assertTrue(holders[0] <= rf, e.getKey() + " is on " + holders[0] + " nodes, more than RF " + rf);
            return holders[0] == rf;
          });
          for (Node node : cluster.nodes) {
            Response r = http.get(node, e.getKey(), "quorum");
            assertEquals(200, r.status, "r=quorum read of " + e.getKey() + " via " + node);
            assertEquals(e.getValue(), r.json().getJsonObject("value"), "value of " + e.getKey() + " via " + node);
          }
        }
        System.out.printf("placement %d/%d: %d keys, each on exactly %d nodes, read at r=quorum from all"
            + " (%d writes retried after 503)%n", n, rf, written.size(), rf, unavailable[0]);
      });
    }
  }

  // --- failures, 3 nodes, RF 3, w=quorum under load -------------------------------------------

  @Test
  void killedNodeRestartsOnItsVolumeAndCatchesUp() throws Exception {
    try (Cluster cluster = Cluster.start(3, 3)) {
      cluster.guard(() -> {
        Node victim = cluster.node(2);
        try (Load load = new Load(http, "kill", List.of(cluster.node(0), cluster.node(1)))) {
          load.awaitAcked(20);
          victim.kill();
          load.awaitAcked(load.acked() + 40);
          victim.restart();
          load.awaitAcked(load.acked() + 20);
          load.stop();
          load.print();
          load.assertNoFailures();
          assertAllReadableAtQuorum(cluster, load.acknowledged());
          awaitLocalCopies(victim, load.acknowledged());
        }
      });
    }
  }

  @Test
  void pausedNodeDoesNotHangRequestsToTheOthers() throws Exception {
    try (Cluster cluster = Cluster.start(3, 3)) {
      cluster.guard(() -> {
        Node frozen = cluster.node(2);
        try (Load load = new Load(http, "pause", List.of(cluster.node(0), cluster.node(1)))) {
          load.awaitAcked(20);
          frozen.pause();
          // Stay frozen well past failure detection (PROBE_INTERVAL x failures, PEER_TIMEOUT).
          long pausedAt = System.nanoTime();
          int before = load.acked();
          load.awaitAcked(before + 30);
          Await.until("load ran 3x PEER_TIMEOUT during the pause", Duration.ofSeconds(30),
              () -> Duration.ofNanos(System.nanoTime() - pausedAt).compareTo(PEER_TIMEOUT.multipliedBy(3)) >= 0);
          int duringPause = load.acked() - before;
          frozen.unpause();
          load.awaitAcked(load.acked() + 20);
          load.stop();
          load.print();
          System.out.printf("pause: %d writes acknowledged while %s was frozen%n", duringPause, frozen);
          load.assertNoFailures();
          assertTrue(load.maxLatencyMillis() < CLIENT_TIMEOUT.toMillis(), "no request hung past the client timeout");
          assertAllReadableAtQuorum(cluster, load.acknowledged());
          awaitLocalCopies(frozen, load.acknowledged());
        }
      });
    }
  }

  @Test
  void partitionedNodeConvergesToTheNewestVersionsAfterHealing() throws Exception {
    try (Cluster cluster = Cluster.start(3, 3)) {
      cluster.guard(() -> {
        Node isolated = cluster.node(2);
        List<Node> majority = List.of(cluster.node(0), cluster.node(1));
        Map<String, JsonObject> expected = new LinkedHashMap<>();
        for (int k = 0; k < 10; k++) {
          JsonObject base = new JsonObject().put("p", k).put("side", "base");
          assertEquals(200, http.set(majority.get(0), "p-" + k, base, "all").status, "baseline w=all p-" + k);
        }

        isolated.disconnect();
        // Older writes on the isolated side: the majority overwrites them below.
        for (int k = 0; k < 5; k++) {
          assertEquals(200, isolated.execSet("p-" + k, new JsonObject().put("p", k).put("side", "isolated-old"), "one"),
              "w=one on the isolated node p-" + k);
        }
        int acceptedQuorumOnIsolated = 0;
        try (Load load = new Load(http, "partition", majority)) {
          for (int k = 0; k < 10; k++) {
            JsonObject v = new JsonObject().put("p", k).put("side", "majority");
            assertEquals(200, http.set(majority.get(k % 2), "p-" + k, v, "quorum").status, "w=quorum on the majority p-" + k);
            expected.put("p-" + k, v);
          }
          load.awaitAcked(40);
          // Newer writes on the isolated side win for p-5..p-9 (last writer wins), and writes
          // only the isolated node has must spread after healing.
          for (int k = 5; k < 10; k++) {
            JsonObject v = new JsonObject().put("p", k).put("side", "isolated-new");
            assertEquals(200, isolated.execSet("p-" + k, v, "one"), "w=one on the isolated node p-" + k);
            expected.put("p-" + k, v);
          }
          for (int k = 0; k < 5; k++) {
            JsonObject v = new JsonObject().put("only", k);
            assertEquals(200, isolated.execSet("iso-only-" + k, v, "one"), "w=one on the isolated node iso-only-" + k);
            expected.put("iso-only-" + k, v);
          }
          for (int k = 0; k < 5; k++) {
            int status = isolated.execSet("iso-quorum-" + k, new JsonObject().put("q", k), "quorum");
            if (status != 503) {
              acceptedQuorumOnIsolated++;
            }
          }
          load.awaitAcked(load.acked() + 20);
          load.stop();
          load.print();
          load.assertNoFailures();
          expected.putAll(load.acknowledged());
        }
        System.out.printf("partition: %d keys expected after healing, %d w=quorum writes to the isolated node not refused%n",
            expected.size(), acceptedQuorumOnIsolated);
        assertEquals(0, acceptedQuorumOnIsolated, "w=quorum writes to the isolated node must answer 503");

        isolated.reconnect();
        for (Node node : cluster.nodes) {
          awaitLocalCopies(node, expected);
        }
        assertAllReadableAtQuorum(cluster, expected);
      });
    }
  }

  @Test
  void nodeReplacedWithAnEmptyVolumeRebuildsItsReplicas() throws Exception {
    try (Cluster cluster = Cluster.start(3, 3)) {
      cluster.guard(() -> {
        Node replaced = cluster.node(2);
        try (Load load = new Load(http, "replace", cluster.nodes)) {
          load.awaitAcked(40);
          load.retarget(List.of(cluster.node(0), cluster.node(1)));
          load.awaitAcked(load.acked() + 2); // the request in flight to node 2 has finished
          replaced.removeContainer();
          load.awaitAcked(load.acked() + 30);
          replaced.startWithEmptyVolume();
          load.awaitAcked(load.acked() + 10);
          load.stop();
          load.print();
          load.assertNoFailures();
          long t0 = System.nanoTime();
          awaitLocalCopies(replaced, load.acknowledged());
          System.out.printf("replace: %s rebuilt %d keys in %d ms%n", replaced, load.acknowledged().size(),
              Duration.ofNanos(System.nanoTime() - t0).toMillis());
          assertAllReadableAtQuorum(cluster, load.acknowledged());
        }
      });
    }
  }

  // --- growing: a fourth pod joins by itself ---------------------------------------------------

  /**
   * {@code kubectl scale --replicas=4} on a running set of 3: the fourth pod has the others'
   * environment (CLUSTER_SIZE=3, NODE_ID=distributed-sqlite-3, no PEERS) and joins through the
   * headless service's DNS pattern while clients write through the other three. Then every node
   * shows the same view of 4 normal members, the new node holds streamed copies, and every key
   * written before and during the join reads back at r=quorum through it.
   */
  @Test
  void fourthPodJoinsByItselfAndServesKeysWrittenBeforeItCame() throws Exception {
    try (Cluster cluster = Cluster.start(3, 3)) {
      cluster.guard(() -> {
        Map<String, JsonObject> before = new LinkedHashMap<>();
        for (int k = 0; k < 60; k++) {
          JsonObject value = new JsonObject().put("k", k).put("phase", "before-join");
          Response w = http.set(cluster.node(k % 3), "grow-" + k, value, "quorum");
          assertEquals(200, w.status, "w=quorum write of grow-" + k + " before the join: " + w);
          before.put("grow-" + k, value);
        }
        Node joiner;
        Map<String, JsonObject> during;
        try (Load load = new Load(http, "join", cluster.nodes)) {
          load.awaitAcked(10);
          long t0 = System.nanoTime();
          joiner = cluster.addPod();
          long started = System.nanoTime();
          long epoch = awaitOneViewOfNormalMembers(cluster, 4);
          System.out.printf("join: %s answered /health %d ms after its container was created; %d ms later every node"
              + " shows 4 normal members at epoch %d%n", joiner, Duration.ofNanos(started - t0).toMillis(),
              Duration.ofNanos(System.nanoTime() - started).toMillis(), epoch);
          // Epoch 1 formed by CLUSTER_SIZE, 2 with the new pod joining, 3 with it normal.
          assertEquals(3, epoch, "one join moves the epoch twice");
          joiner.awaitReady();
          load.awaitAcked(load.acked() + 10);
          load.stop();
          load.print();
          load.assertNoFailures();
          during = load.acknowledged();
        }
        // Before any read through the new node can repair it: what it holds came by streaming
        // (or anti-entropy), and no key has fewer than RF copies.
        int onJoiner = 0;
        List<String> underReplicated = new ArrayList<>();
        for (var e : before.entrySet()) {
          if (holds(joiner, e.getKey(), e.getValue())) {
            onJoiner++;
          }
          int copies = holders(cluster, e.getKey(), e.getValue());
          if (copies < cluster.rf) {
            underReplicated.add(e.getKey() + " on " + copies + " nodes");
          }
        }
        long streamed = metric(joiner, "dsqlite_stream_records");
        System.out.printf("join: %s holds %d of the %d keys written before it came, %d records streamed%n",
            joiner, onJoiner, before.size(), streamed);
        assertEquals(List.of(), underReplicated, "keys with fewer than RF copies after the join");
        assertTrue(onJoiner > 0, joiner + " holds none of the " + before.size() + " keys written before it joined");
        assertTrue(streamed > 0, joiner + " streamed no record (dsqlite_stream_records)");
        Map<String, JsonObject> expected = new LinkedHashMap<>(before);
        expected.putAll(during);
        assertAllReadableAtQuorumThrough(joiner, expected);
      });
    }
  }

  /**
   * Polls every node's /cluster until all show {@code members} members, every one {@code normal},
   * no change in progress, at one epoch; returns that epoch.
   */
  private long awaitOneViewOfNormalMembers(Cluster cluster, int members) {
    Map<Node, String> last = new LinkedHashMap<>();
    long[] epoch = {-1};
    Await.until(() -> "every node shows " + members + " normal members at one epoch; views: " + last, Duration.ofSeconds(90), () -> {
      Set<Long> epochs = new LinkedHashSet<>();
      boolean settled = true;
      for (Node node : cluster.nodes) {
        Response r = http.get(node, "/cluster");
        JsonObject view = r.status == 200 ? r.json().getJsonObject("view") : null;
        if (view == null) {
          last.put(node, r.toString());
          settled = false;
          continue;
        }
        List<String> states = view.getJsonArray("members").stream().map(o -> ((JsonObject) o).getString("state")).toList();
        last.put(node, "epoch " + view.getValue("epoch") + " " + states + " change " + view.getValue("change"));
        settled &= states.size() == members && states.stream().allMatch("normal"::equals) && view.getValue("change") == null;
        epochs.add(view.getLong("epoch"));
      }
      epoch[0] = epochs.size() == 1 ? epochs.iterator().next() : -1;
      return settled && epochs.size() == 1;
    });
    return epoch[0];
  }

  // --- checks ---------------------------------------------------------------------------------

  private int holders(Cluster cluster, String key, JsonObject value) {
    int holders = 0;
    for (Node node : cluster.nodes) {
      if (holds(node, key, value)) {
        holders++;
      }
    }
    return holders;
  }

  /** The node's own copy of {@code key} (/internal/get) has {@code value}. */
  private boolean holds(Node node, String key, JsonObject value) {
    Response r = http.internalGet(node, key);
    return r.status == 200 && value.equals(r.json().getValue("value"));
  }

  /** Sum of the samples of a Prometheus counter or gauge on {@code node}'s /metrics (0 when absent). */
  private long metric(Node node, String name) {
    Response r = http.get(node, "/metrics");
    assertEquals(200, r.status, node + " /metrics");
    double sum = 0;
    for (String line : r.body.lines().toList()) {
      String sample = line.split("[{ ]", 2)[0];
      if (sample.equals(name) || sample.equals(name + "_total")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return (long) sum;
  }

  private void assertAllReadableAtQuorum(Cluster cluster, Map<String, JsonObject> expected) {
    assertReadableAtQuorum(expected, i -> cluster.node(i % cluster.nodes.size()));
  }

  private void assertAllReadableAtQuorumThrough(Node via, Map<String, JsonObject> expected) {
    assertReadableAtQuorum(expected, i -> via);
  }

  private void assertReadableAtQuorum(Map<String, JsonObject> expected, IntFunction<Node> coordinator) {
    List<String> wrong = new ArrayList<>();
    int i = 0;
    for (var e : expected.entrySet()) {
      Node via = coordinator.apply(i++);
      Response r = http.get(via, e.getKey(), "quorum");
      if (r.status != 200 || !e.getValue().equals(r.json().getValue("value"))) {
        wrong.add(e.getKey() + " via " + via + ": " + r);
      }
    }
    System.out.printf("read back %d acknowledged writes at r=quorum: %d wrong%n", expected.size(), wrong.size());
    assertEquals(List.of(), wrong.subList(0, Math.min(10, wrong.size())), wrong.size() + " acknowledged writes not read back");
  }

  /** Polls the node's own copies (/internal/get) until every key has the expected value. */
  private void awaitLocalCopies(Node node, Map<String, JsonObject> expected) {
    Set<String> missing = new LinkedHashSet<>(expected.keySet());
    long t0 = System.nanoTime();
    Await.until(() -> node + " holds all " + expected.size() + " keys; still wrong: " + describe(node, missing), CONVERGE, () -> {
      missing.removeIf(key -> {
        Response r = http.internalGet(node, key);
        return r.status == 200 && expected.get(key).equals(r.json().getValue("value"));
      });
      return missing.isEmpty();
    });
    System.out.printf("%s holds all %d keys after %d ms%n", node, expected.size(),
        Duration.ofNanos(System.nanoTime() - t0).toMillis());
  }

  private String describe(Node node, Set<String> keys) {
    List<String> out = new ArrayList<>();
    for (String key : keys.stream().limit(5).toList()) {
      out.add(key + " -> " + http.internalGet(node, key));
    }
    return keys.size() + " " + out;
  }

  // --- cluster --------------------------------------------------------------------------------

  /** N nodes on one Docker network with fixed addresses, like a StatefulSet behind its headless service. */
  static final class Cluster implements AutoCloseable {
    final String id = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
    final DockerClient docker = DockerClientFactory.instance().client();
    final List<Node> nodes = new ArrayList<>();
    final Set<String> volumes = new LinkedHashSet<>();
    Network network;
    String subnetPrefix;
    int size;
    int rf;

    static Cluster start(int n, int rf) {
      long t0 = System.nanoTime();
      Cluster c = new Cluster();
      c.size = n;
      c.rf = rf;
      try {
        c.createNetwork();
        for (int i = 0; i < n; i++) {
          c.nodes.add(new Node(c, i));
        }
        Startables.deepStart(c.nodes.stream().map(node -> node.container)).join();
        for (Node node : c.nodes) {
          node.awaitReady();
        }
        c.awaitAllUp();
        System.out.printf("started %d nodes (RF %d) in %d ms%n", n, rf, Duration.ofNanos(System.nanoTime() - t0).toMillis());
        return c;
      } catch (RuntimeException | Error e) {
        c.dumpLogs();
        c.close();
        throw e;
      }
    }

    Node node(int i) {
      return nodes.get(i);
    }

    /**
     * One more pod, as {@code kubectl scale} adds it: the next ordinal, the same environment as the
     * others (CLUSTER_SIZE stays as it was), its own empty volume. Returns once it answers /health.
     */
    Node addPod() {
      Node node = new Node(this, nodes.size());
      nodes.add(node);
      node.container.start();
      System.out.println("added " + node);
      return node;
    }

    /** Every node's /cluster view has every node up: failure detection has settled. */
    void awaitAllUp() {
      Http probe = new Http();
      long t0 = System.nanoTime();
      for (Node node : nodes) {
        String[] last = {""};
        Await.until(() -> node + " sees all " + size + " nodes up; /cluster: " + last[0], Duration.ofSeconds(60), () -> {
          Response r = probe.get(node, "/cluster");
          last[0] = r.toString();
          if (r.status != 200) {
            return false;
          }
          var states = r.json().getJsonArray("nodes").stream().map(o -> ((JsonObject) o).getString("state")).toList();
          return states.size() == size && states.stream().allMatch("up"::equals);
        });
      }
      System.out.printf("cluster of %d: every node sees every node up (%d ms)%n", size,
          Duration.ofNanos(System.nanoTime() - t0).toMillis());
    }

    /** A network with a subnet of our own, so each node keeps its address (as a pod does). */
    private void createNetwork() {
      RuntimeException last = null;
      for (int attempt = 0; attempt < 8; attempt++) {
        String prefix = "172.30." + ThreadLocalRandom.current().nextInt(0, 256);
        Network candidate = Network.builder()
            .createNetworkCmdModifier(cmd -> cmd.withName("dsqlite-it-" + id)
                .withIpam(new com.github.dockerjava.api.model.Network.Ipam()
                    .withConfig(new com.github.dockerjava.api.model.Network.Ipam.Config().withSubnet(prefix + ".0/24"))))
            .build();
        try {
          candidate.getId(); // created lazily
          network = candidate;
          subnetPrefix = prefix;
          return;
        } catch (RuntimeException e) { // subnet overlaps another network: try another one
          last = e;
        }
      }
      throw last;
    }

    /** Runs a scenario; on failure prints the tail of every node's log before rethrowing. */
    void guard(ThrowingRunnable scenario) throws Exception {
      try {
        scenario.run();
      } catch (Throwable t) {
        dumpLogs();
        throw t;
      }
    }

    void dumpLogs() {
      for (Node node : nodes) {
        try {
          String logs = node.container.getContainerId() == null ? "" : node.container.getLogs();
          List<String> lines = logs.lines().toList();
          System.out.println("----- " + node + " (last 40 log lines) -----");
          lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(System.out::println);
        } catch (RuntimeException e) {
          System.out.println("----- " + node + ": no logs (" + e.getMessage() + ")");
        }
      }
    }

    @Override
    public void close() {
      for (Node node : nodes) {
        node.unpauseQuietly();
        node.container.stop();
      }
      for (String volume : volumes) {
        try {
          docker.removeVolumeCmd(volume).exec();
        } catch (RuntimeException ignored) {
          // already gone
        }
      }
      if (network != null) {
        network.close();
      }
    }
  }

  /** One node: a container named and aliased like StatefulSet pod distributed-sqlite-i. */
  static final class Node {
    final Cluster cluster;
    final int index;
    final String podName;
    final String alias;
    final String ip;
    final int hostPort;
    GenericContainer<?> container;
    String volume;
    private int generation;
    private boolean paused;

    Node(Cluster cluster, int index) {
      this.cluster = cluster;
      this.index = index;
      this.podName = SET + "-" + index;
      this.alias = podName + "." + HEADLESS + ".default.svc.cluster.local";
      this.ip = cluster.subnetPrefix + "." + (10 + index);
      this.hostPort = freePort();
      this.container = newContainer();
    }

    private GenericContainer<?> newContainer() {
      volume = "dsqlite-it-" + cluster.id + "-" + index + "-" + generation++;
      cluster.volumes.add(volume);
      String name = "dsqlite-it-" + cluster.id + "-" + podName;
      String vol = volume;
      return new GenericContainer<>(IMAGE)
          .withNetwork(cluster.network)
          .withNetworkAliases(alias)
          .withExposedPorts(PORT)
          .withEnv("NODE_ID", podName)
          .withEnv("CLUSTER_SIZE", Integer.toString(cluster.size))
          .withEnv("REPLICATION_FACTOR", Integer.toString(cluster.rf))
          .withEnv("CLUSTER_TOKEN", TOKEN)
          .withEnv("PEER_TIMEOUT", PEER_TIMEOUT.toMillis() + "ms")
          .withEnv("PROBE_INTERVAL", PROBE_INTERVAL)
          .withEnv("ANTI_ENTROPY_INTERVAL", "5s")
          .withEnv("SHUTDOWN_TIMEOUT", "2s")
          .withCreateContainerCmdModifier(cmd -> {
            cmd.withName(name).withHostName(podName).withIpv4Address(ip);
            cmd.getHostConfig()
                .withMemory(512L << 20)
                .withMounts(List.of(new Mount().withType(MountType.VOLUME).withSource(vol).withTarget("/data")))
                // A fixed host port survives `docker start` after a kill.
                .withPortBindings(new PortBinding(Ports.Binding.bindIpAndPort("127.0.0.1", hostPort), ExposedPort.tcp(PORT)));
          })
          .waitingFor(Wait.forHttp("/health").forPort(PORT).forStatusCode(200)
              .withStartupTimeout(Duration.ofSeconds(120)));
    }

    String url() {
      return "http://127.0.0.1:" + hostPort;
    }

    String id() {
      return container.getContainerId();
    }

    void awaitReady() {
      Http probe = new Http();
      Await.until(this + " answers /health and /ready", Duration.ofSeconds(90),
          () -> probe.get(this, "/health").status == 200 && probe.get(this, "/ready").status == 200);
    }

    /** SIGKILL, as when the kernel OOM-kills a pod's process. */
    void kill() {
      cluster.docker.killContainerCmd(id()).withSignal("KILL").exec();
      Await.until(this + " stops", Duration.ofSeconds(20),
          () -> !Boolean.TRUE.equals(cluster.docker.inspectContainerCmd(id()).exec().getState().getRunning()));
      System.out.println("killed " + this);
    }

    /** The same container again: same volume, address and port, as kubelet restarts a container. */
    void restart() {
      cluster.docker.startContainerCmd(id()).exec();
      awaitReady();
      cluster.awaitAllUp();
      System.out.println("restarted " + this);
    }

    void pause() {
      cluster.docker.pauseContainerCmd(id()).exec();
      paused = true;
      System.out.println("paused " + this);
    }

    void unpause() {
      cluster.docker.unpauseContainerCmd(id()).exec();
      paused = false;
      System.out.println("unpaused " + this);
    }

    void unpauseQuietly() {
      if (paused) {
        try {
          unpause();
        } catch (RuntimeException ignored) {
          // container already gone
        }
      }
    }

    void disconnect() {
      cluster.docker.disconnectFromNetworkCmd().withNetworkId(cluster.network.getId()).withContainerId(id())
          .withForce(true).exec();
      System.out.println("disconnected " + this);
    }

    /** Back on the network with its alias and address, as when a partition heals. */
    void reconnect() {
      cluster.docker.connectToNetworkCmd().withNetworkId(cluster.network.getId()).withContainerId(id())
          .withContainerNetwork(new ContainerNetwork().withAliases(alias)
              .withIpamConfig(new ContainerNetwork.Ipam().withIpv4Address(ip)))
          .exec();
      awaitReady();
      cluster.awaitAllUp();
      System.out.println("reconnected " + this);
    }

    void removeContainer() {
      container.stop();
      System.out.println("removed " + this + " and its container");
    }

    /** A new container for the same pod name and address on a new, empty volume. */
    void startWithEmptyVolume() {
      container = newContainer();
      container.start();
      awaitReady();
      cluster.awaitAllUp();
      System.out.println("replaced " + this + " (empty volume " + volume + ")");
    }

    /**
     * POST /set from inside the container: reaches a node that is cut off from the network (and so
     * from its published port). Returns the HTTP status, 0 when curl got no answer.
     */
    int execSet(String key, JsonObject value, String w) {
      String body = new JsonObject().put("key", key).put("value", value).encode();
      try {
        ExecResult r = container.execInContainer("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
            "--max-time", Long.toString(CLIENT_TIMEOUT.toSeconds()), "-H", "Content-Type: application/json",
            "--data-binary", body, "http://127.0.0.1:" + PORT + "/set?w=" + w);
        return Integer.parseInt(r.getStdout().trim());
      } catch (IOException | NumberFormatException e) {
        return 0;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 0;
      }
    }

    @Override
    public String toString() {
      return podName;
    }

    private static int freePort() {
      return io.distributedsqlite.support.TestCluster.freePort();
    }
  }

  // --- client ---------------------------------------------------------------------------------

  record Response(int status, String body, long millis) {
    JsonObject json() {
      return new JsonObject(body);
    }

    @Override
    public String toString() {
      return status + " " + (body.length() > 200 ? body.substring(0, 200) + "..." : body);
    }
  }

  /** Blocking HTTP with a hard per-request timeout; status 0 = no answer in time, -1 = I/O error. */
  static final class Http {
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2)).build();

    Response set(Node node, String key, JsonObject value, String w) {
      String body = new JsonObject().put("key", key).put("value", value).encode();
      return send(HttpRequest.newBuilder(URI.create(node.url() + "/set?w=" + w))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    Response get(Node node, String key, String r) {
      return send(HttpRequest.newBuilder(URI.create(node.url() + "/get?key=" + enc(key) + "&r=" + r)).GET());
    }

    Response get(Node node, String path) {
      return send(HttpRequest.newBuilder(URI.create(node.url() + path)).GET());
    }

    Response internalGet(Node node, String key) {
      return send(HttpRequest.newBuilder(URI.create(node.url() + "/internal/get?key=" + enc(key)))
          .header("X-Cluster-Token", TOKEN).GET());
    }

    private Response send(HttpRequest.Builder request) {
      long t0 = System.nanoTime();
      try {
        HttpResponse<String> r = client.send(request.timeout(CLIENT_TIMEOUT).build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        return new Response(r.statusCode(), r.body(), elapsed(t0));
      } catch (HttpTimeoutException e) {
        return new Response(0, "timeout: " + e.getMessage(), elapsed(t0));
      } catch (IOException e) {
        return new Response(-1, e.toString(), elapsed(t0));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Response(-1, "interrupted", elapsed(t0));
      }
    }

    private static long elapsed(long t0) {
      return Duration.ofNanos(System.nanoTime() - t0).toMillis();
    }

    private static String enc(String s) {
      return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
  }

  /**
   * Continuous, bounded client load: one thread writes new keys at w=quorum through the target
   * nodes in turn and reads an earlier acknowledged key at r=quorum through the next node. It
   * records every acknowledged write and every failure, and stops by itself after
   * {@link #MAX_OPS} operations or {@link #MAX_TIME}.
   */
  static final class Load implements AutoCloseable {
    static final int MAX_OPS = 2000;
    static final Duration MAX_TIME = Duration.ofSeconds(150);

    private final Http http;
    private final String name;
    private volatile List<Node> targets;
    private final Map<String, JsonObject> acked = new ConcurrentHashMap<>();
    private final List<String> ackedOrder = java.util.Collections.synchronizedList(new ArrayList<>());
    private final List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger writes = new AtomicInteger();
    private final AtomicInteger reads = new AtomicInteger();
    private final AtomicLong maxLatency = new AtomicLong();
    private final Thread thread;
    private volatile boolean stopped;

    Load(Http http, String name, List<Node> targets) {
      this.http = http;
      this.name = name;
      this.targets = List.copyOf(targets);
      this.thread = new Thread(this::run, "load-" + name);
      thread.setDaemon(true);
      thread.start();
    }

    void retarget(List<Node> nodes) {
      targets = List.copyOf(nodes);
    }

    private void run() {
      try {
        runBounded();
      } catch (RuntimeException e) {
        failures.add("load thread failed: " + e);
      }
    }

    private void runBounded() {
      long deadline = System.nanoTime() + MAX_TIME.toNanos();
      for (int seq = 0; !stopped && seq < MAX_OPS && System.nanoTime() < deadline; seq++) {
        List<Node> t = targets;
        Node via = t.get(seq % t.size());
        String key = name + "-" + seq;
        JsonObject value = new JsonObject().put("seq", seq).put("via", via.index);
        Response w = http.set(via, key, value, "quorum");
        writes.incrementAndGet();
        maxLatency.accumulateAndGet(w.millis, Math::max);
        if (w.status == 200) {
          acked.put(key, value);
          ackedOrder.add(key);
        } else {
          failures.add("write " + key + " via " + via + " sent at " + sentAt(w) + ": " + w + " after " + w.millis + " ms");
        }
        if (!ackedOrder.isEmpty()) {
          String earlier = ackedOrder.get(ThreadLocalRandom.current().nextInt(ackedOrder.size()));
          Node reader = t.get((seq + 1) % t.size());
          Response r = http.get(reader, earlier, "quorum");
          reads.incrementAndGet();
          maxLatency.accumulateAndGet(r.millis, Math::max);
          if (r.status != 200 || !acked.get(earlier).equals(r.json().getValue("value"))) {
            failures.add("read " + earlier + " via " + reader + " sent at " + sentAt(r) + ": " + r + " after " + r.millis + " ms");
          }
        }
      }
    }

    /** When the request was sent, UTC, as the nodes' logs show it: to find a failure in them. */
    private static String sentAt(Response r) {
      return java.time.LocalTime.now(java.time.ZoneOffset.UTC).minusNanos(r.millis * 1_000_000)
          .truncatedTo(java.time.temporal.ChronoUnit.MILLIS).toString();
    }

    int acked() {
      return acked.size();
    }

    /** Waits until the load has acknowledged {@code count} writes in total. */
    void awaitAcked(int count) {
      Await.until(() -> "load '" + name + "' reaches " + count + " acknowledged writes (" + summary() + ")",
          Duration.ofSeconds(60), () -> acked() >= count || !thread.isAlive());
      assertTrue(acked() >= count, "load '" + name + "' ended early: " + summary());
    }

    void stop() throws InterruptedException {
      stopped = true;
      thread.join(CLIENT_TIMEOUT.multipliedBy(3).toMillis());
    }

    Map<String, JsonObject> acknowledged() {
      return Map.copyOf(acked);
    }

    long maxLatencyMillis() {
      return maxLatency.get();
    }

    String summary() {
      return String.format("%d writes, %d acknowledged, %d reads, %d failures, max latency %d ms",
          writes.get(), acked.size(), reads.get(), failures.size(), maxLatency.get());
    }

    void print() {
      System.out.println("load '" + name + "': " + summary());
      synchronized (failures) {
        failures.stream().limit(10).forEach(f -> System.out.println("  " + f));
      }
    }

    void assertNoFailures() {
      synchronized (failures) {
        assertEquals(List.of(), failures.subList(0, Math.min(10, failures.size())),
            failures.size() + " failed requests to healthy nodes (" + summary() + ")");
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop();
    }
  }

  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }
}
