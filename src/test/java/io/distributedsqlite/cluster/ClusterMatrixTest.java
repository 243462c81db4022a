package io.distributedsqlite.cluster;

import static io.distributedsqlite.support.Await.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.distributedsqlite.storage.Version;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.ProcessCluster;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Real in-JVM nodes over real HTTP, across the original test matrix (3 nodes RF=3, 4 nodes RF=3,
 * 5 nodes RF=4): placement on exactly the ring's replicas, majority reads from every coordinator,
 * read-your-write at quorum, quorum deletes, the cluster view; and, at 3 nodes RF=3 with one node
 * stopped, which levels still succeed, the 503 for those that cannot, and hinted handoff.
 */
class ClusterMatrixTest {
  private static final Duration REPLICATION_DEADLINE = Duration.ofSeconds(5);
  private static final Duration HINT_DEADLINE = Duration.ofSeconds(10);

  /** One cluster per shape, started on first use and shared by the scenarios of that shape. */
  private static final Map<Shape, TestCluster> CLUSTERS = new HashMap<>();
  private static Path matrixDir;

  private final ClusterHttp http = new ClusterHttp();

  record Shape(int nodes, int rf) {
    @Override
    public String toString() {
      return nodes + " nodes RF=" + rf;
    }
  }

  static Stream<Shape> matrix() {
    return Stream.of(new Shape(3, 3), new Shape(4, 3), new Shape(5, 4));
  }

  private static synchronized TestCluster cluster(Shape shape) throws IOException {
    TestCluster c = CLUSTERS.get(shape);
    if (c == null) {
      if (matrixDir == null) {
        matrixDir = Files.createTempDirectory("dsqlite-matrix");
      }
      c = TestCluster.start(shape.nodes(), shape.rf(), matrixDir.resolve(shape.nodes() + "n-rf" + shape.rf()));
      CLUSTERS.put(shape, c);
      new ClusterHttp().awaitAllUp(c.baseUrls(), Duration.ofSeconds(10));
    }
    return c;
  }

  /** A fresh cluster whose nodes all see each other up. */
  private TestCluster startCluster(int nodes, int rf, Path dir) {
    TestCluster c = TestCluster.start(nodes, rf, dir);
    try {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(10));
    } catch (AssertionError e) {
      c.close();
      throw e;
    }
    return c;
  }

  @AfterAll
  static void stopClusters() throws IOException {
    CLUSTERS.values().forEach(TestCluster::close);
    CLUSTERS.clear();
    if (matrixDir != null) {
      try (Stream<Path> files = Files.walk(matrixDir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
      matrixDir = null;
    }
  }

  // ---------------------------------------------------------------- the matrix

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void everyNodeIsHealthy(Shape shape) throws IOException {
    TestCluster c = cluster(shape);
    for (int i = 0; i < c.size(); i++) {
      Response r = http.get(c.baseUrl(i) + "/health");
      assertEquals(200, r.status(), "node " + i + ": " + r);
      assertEquals("ok", r.json().getString("status"));
      assertEquals(Integer.toString(i), r.json().getValue("node_id"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void writeLandsOnExactlyTheRingsReplicas(Shape shape) throws IOException {
    TestCluster c = cluster(shape);
    Ring ring = new Ring(shape.nodes(), shape.rf());
    for (int k = 0; k < 12; k++) {
      String key = "placement-" + shape.nodes() + "-" + k;
      int coordinator = k % c.size();
      Response w = http.set(c.baseUrl(coordinator), key, "{\"k\":" + k + "}", null);
      assertEquals(200, w.status(), "write of " + key + " via node " + coordinator + ": " + w);
      assertEquals("success", w.json().getString("status"));
      assertEquals(key, w.json().getString("key"));
      assertEquals(Integer.toString(coordinator), w.json().getValue("node_id"));
      String version = w.json().getString("version");
      assertNotNull(version, "the write answer carries its version: " + w);
      assertPlacedExactlyOnReplicas(c, ring, key, version, false);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void majorityReadReturnsTheWriteFromEveryCoordinator(Shape shape) throws IOException {
    TestCluster c = cluster(shape);
    Ring ring = new Ring(shape.nodes(), shape.rf());
    String key = "majority-" + shape.nodes();
    String value = "{\"name\":\"x\",\"list\":[1,2,3],\"nested\":{\"b\":true,\"a\":null}}";
    Response w = http.set(c.baseUrl(0), key, value, null);
    assertEquals(200, w.status(), w.toString());
    assertPlacedExactlyOnReplicas(c, ring, key, w.json().getString("version"), false);
    for (int i = 0; i < c.size(); i++) {
      Response r = http.read(c.baseUrl(i), key, null);
      assertEquals(200, r.status(), "read via node " + i + ": " + r);
      assertEquals(key, r.json().getString("key"));
      assertEquals(new JsonObject(value), r.json().getJsonObject("value"), "value via node " + i);
      assertTrue(r.body().contains("\"value\":" + value), "compact value comes back byte for byte: " + r);
      assertEquals(Integer.toString(i), r.json().getValue("node_id"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void quorumWriteIsReadBackAtQuorumThroughAnotherCoordinator(Shape shape) throws IOException {
    TestCluster c = cluster(shape);
    int keys = 40;
    for (int k = 0; k < keys; k++) {
      String key = "ryw-" + shape.nodes() + "-" + k;
      int writer = k % c.size();
      int reader = (k + 1 + k / c.size()) % c.size();
      if (reader == writer) {
        reader = (reader + 1) % c.size();
      }
      // overwrite once so the read must find the newer of two versions
      ok(http.set(c.baseUrl(reader), key, "\"old\"", "quorum"));
      Response w = http.set(c.baseUrl(writer), key, "{\"i\":" + k + "}", "quorum");
      assertEquals(200, w.status(), "w=quorum via node " + writer + ": " + w);
      JsonObject consistency = w.json().getJsonObject("consistency");
      assertEquals("quorum", consistency.getString("level"));
      assertEquals(shape.rf() / 2 + 1, consistency.getInteger("required"));
      assertTrue(consistency.getInteger("acked") >= consistency.getInteger("required"), w.toString());

      Response r = http.read(c.baseUrl(reader), key, "quorum");
      assertEquals(200, r.status(), "r=quorum via node " + reader + ": " + r);
      assertEquals(new JsonObject().put("i", k), r.json().getJsonObject("value"), key + " read via node " + reader);
      assertEquals(w.json().getString("version"), r.json().getString("version"), key);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void quorumDeleteIsAbsentThroughEveryCoordinator(Shape shape) throws IOException {
    TestCluster c = cluster(shape);
    Ring ring = new Ring(shape.nodes(), shape.rf());
    for (int k = 0; k < 4; k++) {
      String key = "delete-" + shape.nodes() + "-" + k;
      ok(http.set(c.baseUrl(k % c.size()), key, "[" + k + "]", "all"));
      Response d = http.remove(c.baseUrl((k + 1) % c.size()), key, "quorum");
      assertEquals(200, d.status(), d.toString());
      assertEquals("deleted", d.json().getString("status"));
      assertEquals(key, d.json().getString("key"));
      for (int i = 0; i < c.size(); i++) {
        Response r = http.read(c.baseUrl(i), key, "quorum");
        assertEquals(404, r.status(), "r=quorum via node " + i + " after the delete: " + r);
        assertEquals("not_found", r.json().getString("error"));
      }
      // the tombstone reaches every replica (and no other node)
      assertPlacedExactlyOnReplicas(c, ring, key, d.json().getString("version"), true);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void clusterViewListsEveryNodeUp(Shape shape) throws IOException {
    TestCluster c = cluster(shape);
    for (int i = 0; i < c.size(); i++) {
      String base = c.baseUrl(i);
      boolean allUp = poll(Duration.ofSeconds(5), () -> {
        Response r = http.get(base + "/cluster");
        if (r.status() != 200) {
          return false;
        }
        JsonArray nodes = r.json().getJsonArray("nodes");
        return nodes.size() == shape.nodes()
            && nodes.stream().allMatch(n -> "up".equals(((JsonObject) n).getString("state")));
      });
      Response r = http.get(base + "/cluster");
      assertTrue(allUp, "node " + i + " does not see every node up: " + r);
      JsonObject view = r.json();
      assertEquals(Integer.toString(i), view.getValue("node_id"));
      assertEquals(shape.nodes(), view.getInteger("cluster_size"));
      assertEquals(shape.rf(), view.getInteger("replication_factor"));
      double ownership = 0;
      for (int n = 0; n < shape.nodes(); n++) {
        JsonObject node = view.getJsonArray("nodes").getJsonObject(n);
        assertEquals(n, node.getInteger("id"));
        assertEquals(n == i, node.getBoolean("self"));
        assertEquals("127.0.0.1:" + c.port(n), node.getString("address"));
        ownership += node.getDouble("ownership");
      }
      assertEquals(1.0, ownership, 0.01, "ownership shares of node " + i + "'s view");
    }
  }

  /** Like Cassandra: a read asks only as many replicas as its level needs, this node first. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void readAsksAsManyReplicasAsItsLevelNeeds(Shape shape) throws IOException {
    TestCluster c = cluster(shape);
    String key = "asks-" + shape.nodes();
    ok(http.set(c.baseUrl(0), key, "{\"v\":1}", "all"));
    int quorum = shape.rf() / 2 + 1;
    for (int i = 0; i < c.size(); i++) {
      for (String level : new String[] {"one", "quorum", "all"}) {
        Response r = http.read(c.baseUrl(i), key, level);
        assertEquals(200, r.status(), "r=" + level + " via node " + i + ": " + r);
        JsonObject cons = r.json().getJsonObject("consistency");
        int expected = level.equals("one") ? 1 : level.equals("quorum") ? quorum : shape.rf();
        assertEquals(expected, cons.getInteger("asked"), "replicas asked at r=" + level + " via node " + i + ": " + r);
        assertEquals(expected, cons.getInteger("answered"), r.toString());
        assertEquals(0, cons.getInteger("repaired"), r.toString());
      }
    }
  }

  /**
   * A peer that stopped before the failure detector noticed (it needs 100 missed probes here):
   * a quorum read that asked it fails over to the next replica instead of failing.
   */
  @Test
  void quorumReadFailsOverToTheNextReplicaWhenAnAskedOneIsGone(@TempDir Path dir) {
    try (TestCluster c = TestCluster.start(3, 3, dir, Map.of("PROBE_FAILURES", "100"))) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(10));
      for (int k = 0; k < 20; k++) {
        ok(http.set(c.baseUrl(0), "fo-" + k, Integer.toString(k), "all"));
      }
      c.stopNode(1);
      assertEquals("up", peerState(c.baseUrl(0), 1), "node 0 must not have noticed yet");
      int failedOver = 0;
      for (int k = 0; k < 20; k++) {
        Response r = http.read(c.baseUrl(0), "fo-" + k, "quorum");
        assertEquals(200, r.status(), "r=quorum with an undetected dead replica: " + r);
        assertEquals(Integer.toString(k), r.json().getValue("value").toString(), r.toString());
        JsonObject cons = r.json().getJsonObject("consistency");
        assertEquals(2, cons.getInteger("answered"), r.toString());
        failedOver += cons.getInteger("asked") == 3 ? 1 : 0;
      }
      assertTrue(failedOver > 0, "no read asked node 1 first; the ring puts it second for about half the keys");
    }
  }

  /**
   * One replica is given a newer version directly (a versioned internal write applies locally
   * only). An r=all read through another node answers with it and repairs both stale replicas.
   */
  @Test
  void allReadRepairsEveryStaleReplica(@TempDir Path dir) {
    try (TestCluster c = startCluster(3, 3, dir)) {
      Response w = http.set(c.baseUrl(0), "rr", "{\"v\":1}", "all");
      ok(w);
      Version old = Version.parse(w.json().getString("version"));
      Version newer = new Version(old.hlc() + 1, old.nodeId());
      String body = io.distributedsqlite.wire.RecordJson.encodeList(
          java.util.List.of(io.distributedsqlite.storage.Record.write("rr", "{\"v\":2}", newer, 0)));
      ok(http.post(c.baseUrl(2) + "/internal/apply", body));

      Response r = http.read(c.baseUrl(0), "rr", "all");
      assertEquals(200, r.status(), r.toString());
      assertEquals(newer.toString(), r.json().getString("version"), r.toString());
      assertEquals(2, r.json().getJsonObject("consistency").getInteger("repaired"), r.toString());
      for (int i = 0; i < 3; i++) {
        int node = i;
        assertTrue(poll(Duration.ofSeconds(5), () -> newer.toString().equals(http.local(c.baseUrl(node), "rr").json().getString("version"))),
            "node " + node + " was not repaired");
      }
    }
  }

  // ---------------------------------------------------------------- one of three nodes down

  @Test
  void withOneOfThreeDownQuorumSucceedsAndAllIsUnavailable(@TempDir Path dir) {
    try (TestCluster c = startCluster(3, 3, dir)) {
      c.stopNode(2);
      assertTrue(poll(Duration.ofSeconds(5), () -> "down".equals(peerState(c.baseUrl(0), 2))),
          "node 0 never saw node 2 down");

      Response q = http.set(c.baseUrl(0), "down-quorum", "{\"v\":1}", "quorum");
      assertEquals(200, q.status(), "w=quorum with one of three down: " + q);
      assertEquals(2, q.json().getJsonObject("consistency").getInteger("acked"), q.toString());

      Response r = http.read(c.baseUrl(1), "down-quorum", "quorum");
      assertEquals(200, r.status(), "r=quorum with one of three down: " + r);
      assertEquals(new JsonObject().put("v", 1), r.json().getJsonObject("value"));

      Response all = http.set(c.baseUrl(0), "down-all", "{\"v\":2}", "all");
      assertEquals(503, all.status(), "w=all with one of three down: " + all);
      JsonObject body = all.json();
      assertNotNull(body, "503 body is JSON: " + all);
      assertEquals("unavailable", body.getString("error"), all.toString());
      assertEquals(3, body.getInteger("required"), all.toString());
      assertNotNull(body.getString("message"), all.toString());
      // The write was committed on the two live replicas; the 503 must say so.
      assertEquals(2, body.getInteger("acked"), "acked count in the w=all 503: " + all);
    }
  }

  @Test
  void allReadIsUnavailableWithOneOfThreeDown(@TempDir Path dir) {
    try (TestCluster c = startCluster(3, 3, dir)) {
      ok(http.set(c.baseUrl(0), "read-all", "1", "all"));
      c.stopNode(1);
      for (int coordinator : new int[] {0, 2}) {
        Response all = http.read(c.baseUrl(coordinator), "read-all", "all");
        assertEquals(503, all.status(), "r=all via node " + coordinator + " with node 1 down: " + all);
        assertEquals("unavailable", all.json().getString("error"), all.toString());
        assertEquals(3, all.json().getInteger("required"), all.toString());
        Response quorum = http.read(c.baseUrl(coordinator), "read-all", "quorum");
        assertEquals(200, quorum.status(), "r=quorum via node " + coordinator + ": " + quorum);
        Response one = http.read(c.baseUrl(coordinator), "read-all", "one");
        assertEquals(200, one.status(), "r=one via node " + coordinator + ": " + one);
      }
    }
  }

  @Test
  void stoppedNodeReceivesHintedWritesAfterRestart(@TempDir Path dir) {
    try (TestCluster c = startCluster(3, 3, dir)) {
      c.stopNode(2);
      Map<String, String> versions = new HashMap<>();
      for (int k = 0; k < 5; k++) {
        String key = "hinted-" + k;
        Response w = http.set(c.baseUrl(k % 2), key, "{\"k\":" + k + "}", "quorum");
        assertEquals(200, w.status(), w.toString());
        versions.put(key, w.json().getString("version"));
      }
      // a w=all that could not be met still reached the live replicas and is hinted too
      Response all = http.set(c.baseUrl(0), "hinted-all", "\"all\"", "all");
      assertEquals(503, all.status(), all.toString());
      Response del = http.remove(c.baseUrl(1), "hinted-0", "quorum");
      assertEquals(200, del.status(), del.toString());
      versions.put("hinted-0", del.json().getString("version"));

      c.startNode(2);
      String restarted = c.baseUrl(2);
      for (Map.Entry<String, String> e : versions.entrySet()) {
        assertTrue(poll(HINT_DEADLINE, () -> {
          Response r = http.local(restarted, e.getKey());
          return r.status() == 200 && e.getValue().equals(r.json().getString("version"));
        }), "restarted node 2 did not receive the hinted write of " + e.getKey() + " within " + HINT_DEADLINE
            + ": " + http.local(restarted, e.getKey()));
      }
      assertTrue(http.local(restarted, "hinted-0").json().getBoolean("tombstone"), "the hinted delete is a tombstone");
      assertTrue(poll(HINT_DEADLINE, () -> {
        Response r = http.local(restarted, "hinted-all");
        return r.status() == 200 && "all".equals(r.json().getValue("value"));
      }), "restarted node 2 did not receive the hinted (unmet w=all) write: " + http.local(restarted, "hinted-all"));
      // and the hints are gone once delivered
      assertTrue(poll(HINT_DEADLINE, () -> hintsPendingFor(c.baseUrl(0), 2) == 0 && hintsPendingFor(c.baseUrl(1), 2) == 0),
          "hints for node 2 still pending: " + http.get(c.baseUrl(0) + "/cluster") + " / " + http.get(c.baseUrl(1) + "/cluster"));
    }
  }

  // ---------------------------------------------------------------- helpers

  private static Response ok(Response r) {
    assertEquals(200, r.status(), r.toString());
    return r;
  }

  /**
   * Polls every node's local copy until the replicas of {@code key} hold {@code version} (or a
   * newer one), then checks that no other node holds the key at all.
   */
  private void assertPlacedExactlyOnReplicas(TestCluster c, Ring ring, String key, String version, boolean tombstone) {
    int[] replicas = ring.replicasFor(key);
    for (int node : replicas) {
      String base = c.baseUrl(node);
      boolean arrived = poll(REPLICATION_DEADLINE, () -> {
        Response r = http.local(base, key);
        return r.status() == 200 && version.equals(r.json().getString("version"));
      });
      Response r = http.local(base, key);
      if (!arrived) {
        fail("replica " + node + " of " + key + " (replicas " + Arrays.toString(replicas) + ") does not hold version "
            + version + " within " + REPLICATION_DEADLINE + ": " + r);
      }
      assertEquals(key, r.json().getString("key"));
      assertEquals(Integer.toString(node), r.json().getValue("node_id"));
      assertEquals(tombstone, r.json().getBoolean("tombstone"), r.toString());
    }
    for (int node = 0; node < c.size(); node++) {
      if (!ring.isReplica(key, node)) {
        Response r = http.local(c.baseUrl(node), key);
        assertEquals(404, r.status(), "node " + node + " is not a replica of " + key + " (replicas "
            + Arrays.toString(replicas) + ") but holds: " + r);
      }
    }
  }

  private String peerState(String base, int peer) {
    return ProcessCluster.peerState(http, base, peer);
  }

  private long hintsPendingFor(String base, int peer) {
    Response r = http.get(base + "/cluster");
    if (r.status() != 200) {
      return -1;
    }
    for (Object o : r.json().getJsonArray("nodes")) {
      JsonObject n = (JsonObject) o;
      if (n.getInteger("id") == peer) {
        return n.getLong("hints_pending");
      }
    }
    return -1;
  }
}
