package io.distributedsqlite.multikey;

import static io.distributedsqlite.support.Await.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.cluster.Ring;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code POST /batch} on 4 nodes with RF=3: applied on every replica, 207 when w is not met, all-or-nothing validation. */
class BatchTest {
  /** Peers get longer to answer than the default test setting: CI machines run several builds at once. */
  private static final Map<String, String> LOADED_MACHINE = Map.of("PEER_TIMEOUT", "5s");
  private final ClusterHttp http = new ClusterHttp();

  private static String ops(String prefix, int n) {
    JsonArray ops = new JsonArray();
    for (int i = 0; i < n; i++) {
      ops.add(new JsonObject().put("op", "set").put("key", prefix + i).put("value", new JsonObject().put("i", i)));
    }
    return new JsonObject().put("ops", ops).encode();
  }

  /** Requests node {@code base} received on {@code /internal/apply}, from its metrics. */
  private double applyRequests(String base) {
    double n = 0;
    for (String line : http.get(base + "/metrics").body().split("\n")) {
      if (line.startsWith("dsqlite_http_requests_seconds_count{") && line.contains("route=\"/internal/apply\"")) {
        n += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return n;
  }

  @Test
  void fiveHundredOpsAtQuorumAreAppliedOnEveryReplicaEachReplicaInOneRequest(@TempDir Path dir) {
    Ring ring = new Ring(4, 3);
    try (TestCluster c = TestCluster.start(4, 3, dir, LOADED_MACHINE)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(10));
      JsonArray ops = new JsonArray();
      for (int i = 0; i < 450; i++) {
        ops.add(new JsonObject().put("op", "set").put("key", "b/" + i).put("value", new JsonObject().put("i", i)));
      }
      for (int i = 0; i < 50; i++) {
        ops.add(new JsonObject().put("op", "delete").put("key", "b/" + (i * 9)));
      }
      Response r = http.post(c.baseUrl(0) + "/batch?w=quorum", new JsonObject().put("ops", ops).encode());
      assertEquals(200, r.status(), r.toString());
      JsonObject body = r.json();
      assertEquals("success", body.getString("status"));
      assertEquals(500, body.getInteger("met"));
      JsonArray results = body.getJsonArray("results");
      assertEquals(500, results.size());
      for (int i = 0; i < 500; i++) {
        JsonObject res = results.getJsonObject(i);
        assertEquals(ops.getJsonObject(i).getString("key"), res.getString("key"), "results in op order");
        assertEquals(i < 450 ? "success" : "deleted", res.getString("status"), res.encode());
        assertTrue(res.getString("version").matches("\\d+\\.\\d+\\.\\d+"));
      }
      for (int i = 0; i < 450; i++) {
        String key = "b/" + i;
        boolean deleted = i % 9 == 0 && i / 9 < 50;
        for (int replica : ring.replicasFor(key)) {
          String base = c.baseUrl(replica);
          assertTrue(poll(Duration.ofSeconds(5), () -> {
            JsonObject local = http.local(base, key).json();
            return local != null && (deleted ? Boolean.TRUE.equals(local.getBoolean("tombstone"))
                : new JsonObject().put("i", Integer.parseInt(key.substring(2))).equals(local.getJsonObject("value")));
          }), "replica " + replica + " holds " + key + (deleted ? " deleted" : "") + ": " + http.local(base, key));
        }
      }

      // A quiet cluster: a batch of 100 reaches each peer replica in one /internal/apply request.
      double[] before = new double[4];
      for (int i = 1; i < 4; i++) {
        before[i] = applyRequests(c.baseUrl(i));
      }
      Response hundred = http.post(c.baseUrl(0) + "/batch?w=all", ops("h/", 100));
      assertEquals(200, hundred.status(), hundred.toString());
      for (int i = 1; i < 4; i++) {
        assertEquals(1.0, applyRequests(c.baseUrl(i)) - before[i], "node " + i + " received its part of the batch in one request");
      }
    }
  }

  @Test
  void oneReplicaDownGives207AtWriteAllWithEachOpsOutcome(@TempDir Path dir) {
    Ring ring = new Ring(4, 3);
    try (TestCluster c = TestCluster.start(4, 3, dir, LOADED_MACHINE)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(10));
      c.stopNode(3);
      Response r = http.post(c.baseUrl(0) + "/batch?w=all", ops("down/", 40));
      assertEquals(207, r.status(), r.toString());
      JsonObject body = r.json();
      assertEquals("partial", body.getString("status"));
      JsonArray results = body.getJsonArray("results");
      int met = 0;
      for (int i = 0; i < 40; i++) {
        JsonObject res = results.getJsonObject(i);
        boolean needsNode3 = ring.isReplica("down/" + i, 3);
        if (needsNode3) {
          assertEquals("failed", res.getString("status"), res.encode());
          assertEquals("unavailable", res.getString("error"));
          assertEquals(3, res.getInteger("required"));
          assertEquals(2, res.getInteger("acked"));
        } else {
          assertEquals("success", res.getString("status"), res.encode());
          met++;
        }
      }
      assertEquals(met, body.getInteger("met"));
      assertTrue(met > 0 && met < 40, "some keys avoid node 3, most need it");
      Response quorum = http.post(c.baseUrl(1) + "/batch?w=quorum", ops("down2/", 40));
      assertEquals(200, quorum.status(), "quorum is still met with one replica down: " + quorum);
    }
  }

  @Test
  void anInvalidOpRejectsTheWholeBatchAndWritesNothing(@TempDir Path dir) {
    try (TestCluster c = TestCluster.start(4, 3, dir, LOADED_MACHINE)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(10));
      String base = c.baseUrl(0);
      List<String> bad = List.of(
          "{\"ops\":[{\"op\":\"set\",\"key\":\"ok/1\",\"value\":1},{\"op\":\"upsert\",\"key\":\"ok/2\",\"value\":2}]}",
          "{\"ops\":[{\"op\":\"set\",\"key\":\"ok/1\",\"value\":1},{\"op\":\"set\",\"key\":\"ok/2\"}]}",
          "{\"ops\":[{\"op\":\"set\",\"key\":\"ok/1\",\"value\":1},{\"op\":\"set\",\"key\":\"\",\"value\":2}]}",
          "{\"ops\":[{\"op\":\"set\",\"key\":\"ok/1\",\"value\":1},{\"op\":\"delete\",\"key\":\"ok/2\",\"value\":3}]}",
          "{\"ops\":[{\"op\":\"set\",\"key\":\"ok/1\",\"value\":1},{\"op\":\"set\",\"key\":\"ok/2\",\"value\":1,\"ttl\":-5}]}",
          "{\"ops\":[{\"op\":\"set\",\"key\":\"ok/1\",\"value\":1},7]}",
          "{\"ops\":[{\"op\":\"set\",\"key\":\"ok/1\",\"value\":1}",
          "{\"ops\":[]}",
          "{\"other\":1}",
          "[]");
      for (String body : bad) {
        Response r = http.post(base + "/batch", body);
        assertEquals(400, r.status(), body + " -> " + r);
        assertTrue(r.json().containsKey("error") && r.json().containsKey("message"), r.toString());
      }
      Response indexed = http.post(base + "/batch", bad.get(0));
      assertTrue(indexed.json().getString("message").startsWith("op 1:"), "the error names the bad op: " + indexed);
      Response tooMany = http.post(base + "/batch", ops("many/", 1001));
      assertEquals(413, tooMany.status(), tooMany.toString());
      assertEquals(400, http.post(base + "/batch?w=most", ops("w/", 1)).status());
      for (int i = 0; i < 4; i++) {
        assertEquals(404, http.local(c.baseUrl(i), "ok/1").status(), "node " + i + " holds nothing from a rejected batch");
        assertEquals(404, http.local(c.baseUrl(i), "many/0").status());
      }
    }
  }
}
