package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The original's clients decode {@code node_id} into a string field. This decodes every answer
 * that carries it as such a client does: into records with {@code String node_id}, unknown
 * properties ignored, and no coercion of a JSON number into a string (Jackson's default would
 * hide exactly the defect this guards against). Nodes are named like StatefulSet pods, and
 * {@code node_id} must be that name exactly. The internal API is driven the way the original's
 * tools do: versionless {@code POST /internal/set} and {@code DELETE /internal/delete} to a node,
 * read back with {@code /internal/get} from the same node, on every node (replica of the key or not).
 */
class OriginalClientsTest {
  private static final String SET = "distributed-sqlite-nodes";
  private static final ClusterHttp http = new ClusterHttp();
  private static final ObjectMapper STRICT = strictMapper();

  record WriteAnswer(String status, String node_id, String key) {}

  record ReadAnswer(String key, JsonNode value, String node_id) {}

  record LocalRecord(String key, JsonNode value, String version, boolean tombstone, String node_id) {}

  record Health(String status, String node_id) {}

  record NodeOnly(String node_id) {}

  @TempDir
  Path dir;

  @ParameterizedTest(name = "{0} nodes, RF={1}")
  @CsvSource({"3,2", "4,3"})
  void clientsThatDecodeNodeIdAsAStringReadEveryAnswer(int n, int rf) throws Exception {
    try (TestCluster c = TestCluster.startNamed(n, rf, dir, SET, Map.of())) {
      List<String> bases = c.baseUrls();
      http.awaitAllUp(bases, Duration.ofSeconds(20));
      for (int i = 0; i < n; i++) {
        String base = c.baseUrl(i);
        String name = c.nodeName(i);
        assertEquals(name, decode(http.get(base + "/health"), 200, Health.class).node_id());
        assertEquals(name, decode(http.get(base + "/ready"), 200, NodeOnly.class).node_id());
        assertEquals(name, decode(http.get(base + "/internal/ping"), 200, NodeOnly.class).node_id());
        assertEquals(name, decode(http.get(base + "/internal/digests?peer=" + ((i + 1) % n)), 200, NodeOnly.class).node_id());
        assertEquals(name, decode(http.get(base + "/cluster"), 200, NodeOnly.class).node_id());
        // ordinals stay numbers where they are ours
        JsonNode cluster = STRICT.readTree(http.get(base + "/cluster").body());
        assertTrue(cluster.get("nodes").get(i).get("id").isInt(), cluster::toString);
        assertEquals(name, decode(http.post(base + "/admin/repair?wait=1m", ""), 200, NodeOnly.class).node_id());

        String key = "client-" + n + "-" + i;
        WriteAnswer w = decode(http.set(base, key, "{\"via\":" + i + "}", "quorum"), 200, WriteAnswer.class);
        assertEquals(new WriteAnswer("success", name, key), w);
        for (int j = 0; j < n; j++) {
          ReadAnswer r = decode(http.read(c.baseUrl(j), key, "quorum"), 200, ReadAnswer.class);
          assertEquals(c.nodeName(j), r.node_id());
          assertEquals(i, r.value().get("via").asInt());
        }
        WriteAnswer d = decode(http.remove(base, key, "quorum"), 200, WriteAnswer.class);
        assertEquals(new WriteAnswer("deleted", name, key), d);
        String applied = http.post(base + "/internal/apply", "[]").body();
        assertEquals(name, STRICT.readValue(applied, NodeOnly.class).node_id(), applied);
      }
    }
  }

  @ParameterizedTest(name = "{0} nodes, RF={1}")
  @CsvSource({"3,2", "4,3"})
  void theOriginalToolsWriteInternallyAndReadBackFromTheSameNode(int n, int rf) throws Exception {
    try (TestCluster c = TestCluster.startNamed(n, rf, dir, SET, Map.of())) {
      List<String> bases = c.baseUrls();
      http.awaitAllUp(bases, Duration.ofSeconds(20));
      Ring ring = new Ring(n, rf);
      int nonReplicaWrites = 0;
      for (int k = 0; k < 4 * n; k++) {
        String key = "tool-" + k;
        int node = k % n;
        String base = c.baseUrl(node);
        nonReplicaWrites += ring.isReplica(key, node) ? 0 : 1;
        Response set = http.post(base + "/internal/set", "{\"key\":\"" + key + "\",\"value\":{\"k\":" + k + "}}");
        assertEquals(200, set.status(), set::toString);
        assertEquals(c.nodeName(node), STRICT.readValue(set.body(), WriteAnswer.class).node_id());

        LocalRecord mine = decode(http.local(base, key), 200, LocalRecord.class);
        assertEquals(c.nodeName(node), mine.node_id());
        assertEquals(k, mine.value().get("k").asInt(), () -> key + " read back from node " + node);
        assertFalse(mine.tombstone());
        // it reaches the key's replicas too (w=one answers after the first acknowledgement)
        for (int replica : ring.replicasFor(key)) {
          String replicaBase = c.baseUrl(replica);
          assertTrue(Await.poll(Duration.ofSeconds(10), () -> http.local(replicaBase, key).status() == 200),
              () -> key + " reaches replica " + replica);
          LocalRecord there = decode(http.local(replicaBase, key), 200, LocalRecord.class);
          assertEquals(mine.version(), there.version(), () -> key + " on replica " + replica);
          assertEquals(c.nodeName(replica), there.node_id());
        }

        Response del = http.delete(base + "/internal/delete?key=" + key);
        assertEquals(200, del.status(), del::toString);
        assertEquals(c.nodeName(node), STRICT.readValue(del.body(), WriteAnswer.class).node_id());
        assertTrue(decode(http.local(base, key), 200, LocalRecord.class).tombstone(), () -> key + " deleted on node " + node);
        assertEquals(404, http.read(c.baseUrl((node + 1) % n), key, "all").status());
      }
      assertTrue(nonReplicaWrites > 0, "some legacy writes went to a node that does not replicate the key");
    }
  }

  private static <T> T decode(Response r, int status, Class<T> type) throws Exception {
    assertEquals(status, r.status(), r::toString);
    try {
      return STRICT.readValue(r.body(), type);
    } catch (Exception e) {
      throw new AssertionError("a client decoding node_id as a string cannot read " + r + ": " + e.getMessage(), e);
    }
  }

  private static ObjectMapper strictMapper() {
    ObjectMapper m = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    for (CoercionInputShape shape : new CoercionInputShape[] {CoercionInputShape.Integer, CoercionInputShape.Float,
        CoercionInputShape.Boolean}) {
      m.coercionConfigFor(LogicalType.Textual).setCoercion(shape, CoercionAction.Fail);
    }
    return m;
  }
}
