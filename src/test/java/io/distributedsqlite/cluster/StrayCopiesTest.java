package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonArray;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A legacy versionless {@code /internal/set} sent to a node that does not replicate the key
 * leaves a copy there (a stray): readable with {@code /internal/get} on that node, counted in
 * {@code /cluster} and the metrics, never served to quorum reads or repair, and removed after
 * STRAY_GRACE while the key's replicas keep it.
 */
class StrayCopiesTest {
  private static final ClusterHttp http = new ClusterHttp();

  @TempDir
  Path dir;

  @Test
  void aLegacyWriteToANonReplicaIsKeptThereAsAStrayUntilStrayGrace() {
    try (TestCluster c = TestCluster.start(3, 2, dir, Map.of("STRAY_GRACE", "3s", "ANTI_ENTROPY_INTERVAL", "1s"))) {
      http.awaitAllUp(List.of(c.baseUrl(0), c.baseUrl(1), c.baseUrl(2)), Duration.ofSeconds(20));
      Ring ring = new Ring(3, 2);
      String key = keyNotReplicatedBy(ring, 2);
      String stray = c.baseUrl(2);
      // a legacy write received by a replica of its key is no stray
      String onReplica = keyReplicatedBy(ring, 2);
      assertEquals(200, http.post(stray + "/internal/set", "{\"key\":\"" + onReplica + "\",\"value\":1}").status());
      assertEquals(0L, strays(stray));

      Response set = http.post(stray + "/internal/set", "{\"key\":\"" + key + "\",\"value\":{\"legacy\":true}}");
      assertEquals(200, set.status(), set::toString);
      Response local = http.local(stray, key);
      assertEquals(200, local.status(), () -> "the receiving node keeps a copy: " + local);
      assertEquals("{\"legacy\":true}", local.json().getJsonObject("value").encode());
      for (int replica : ring.replicasFor(key)) {
        assertEquals(200, http.local(c.baseUrl(replica), key).status(), "replica " + replica + " has it");
      }
      assertEquals(1L, strays(stray), "/cluster counts the stray");
      assertTrue(http.get(stray + "/metrics").body().contains("dsqlite_strays{node=\"2\"} 1.0"),
          "the stray gauge is exported");

      // never served to a quorum read or to repair
      Response read = http.post(stray + "/internal/read", new JsonArray().add(key).encode());
      assertEquals("[]", read.body().strip(), () -> "/internal/read serves no stray: " + read);
      Response records = http.post(stray + "/internal/records", new JsonArray().add(key).encode());
      assertEquals("[]", records.body().strip(), () -> "/internal/records serves no stray: " + records);
      for (int peer : ring.replicasFor(key)) {
        Response buckets = http.get(stray + "/internal/buckets?peer=" + peer + "&buckets="
            + io.distributedsqlite.storage.KeyHash.bucket(key));
        assertTrue(!buckets.body().contains(key), () -> "/internal/buckets lists no stray: " + buckets);
      }

      // the stray is in no digest: once the replicas have the write, a repair round from the
      // stray's node finds every bucket equal with every peer
      for (int replica : ring.replicasFor(key)) {
        String replicaBase = c.baseUrl(replica);
        assertTrue(Await.poll(Duration.ofSeconds(10), () -> http.local(replicaBase, key).status() == 200));
      }
      Response repair = http.post(stray + "/admin/repair?wait=1m", "");
      assertEquals(200, repair.status(), repair::toString);
      for (Object o : repair.json().getJsonArray("peers")) {
        io.vertx.core.json.JsonObject report = (io.vertx.core.json.JsonObject) o;
        assertEquals(0, report.getInteger("buckets_differing", -1), () -> "repair from the stray's node: " + repair);
      }

      // removed after STRAY_GRACE; the replicas keep it
      assertTrue(Await.poll(Duration.ofSeconds(20), () -> http.local(stray, key).status() == 404),
          "the stray is removed after STRAY_GRACE");
      assertEquals(0L, strays(stray));
      for (int replica : ring.replicasFor(key)) {
        assertEquals(200, http.local(c.baseUrl(replica), key).status(), "replica " + replica + " keeps it");
      }
      assertEquals(200, http.read(stray, key, "all").status());
      assertEquals(200, http.local(stray, onReplica).status(), "a replica's own copy is never removed as a stray");
    }
  }

  private static long strays(String base) {
    Response r = http.get(base + "/cluster");
    assertEquals(200, r.status(), r::toString);
    Long n = r.json().getLong("strays");
    return n == null ? -1 : n;
  }

  static String keyReplicatedBy(Ring ring, int node) {
    for (int i = 0; ; i++) {
      String key = "replicated-" + i;
      if (ring.isReplica(key, node)) {
        return key;
      }
    }
  }

  static String keyNotReplicatedBy(Ring ring, int node) {
    for (int i = 0; ; i++) {
      String key = "legacy-" + i;
      if (!ring.isReplica(key, node)) {
        return key;
      }
    }
  }
}
