package io.distributedsqlite.repair;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.Await;
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

/**
 * {@code POST /admin/repair} runs the round in the background and answers 202 with its progress;
 * {@code GET /admin/repair} follows it to completion; {@code ?wait=} answers the finished round's
 * report. Two in-JVM nodes with RF=2; repair paced to 100 records/s so a round of 300 records
 * takes seconds; no periodic round meanwhile.
 */
class AdminRepairProgressTest {
  static final ClusterHttp http = new ClusterHttp();
  static final int RECORDS = 300;

  @TempDir
  Path dir;

  @Test
  void repairRunsInTheBackgroundReportsProgressAndWaitAnswersTheReport() {
    Map<String, String> env = Map.of("REPAIR_RATE", "100", "ANTI_ENTROPY_INTERVAL", "1h", "HINTED_HANDOFF", "false");
    try (TestCluster c = TestCluster.start(2, 2, dir, env)) {
      String base = c.baseUrl(0);
      http.awaitAllUp(List.of(base, c.baseUrl(1)), Duration.ofSeconds(20));
      // Records on node 0 only (versioned internal writes are applied locally only): node 1 lacks them.
      JsonArray records = new JsonArray();
      long now = System.currentTimeMillis();
      for (int i = 0; i < RECORDS; i++) {
        records.add(new JsonObject().put("key", "only-on-0-" + i).put("value", i).put("version", now + ".0.0")
            .put("tombstone", false).put("expires_at", 0));
      }
      assertEquals(200, http.post(base + "/internal/apply", records.encode()).status());

      Response started = http.post(base + "/admin/repair", "");
      assertEquals(202, started.status(), started::toString);
      JsonObject progress = started.json();
      assertEquals("0", progress.getString("node_id"));
      assertTrue(progress.getBoolean("running"), "the round runs in the background: " + progress);
      assertEquals(1, progress.getInteger("peers_total"));
      assertNotNull(progress.getString("started_at"));

      Response joined = http.post(base + "/admin/repair", "");
      assertEquals(202, joined.status(), joined::toString);
      assertEquals(progress.getString("started_at"), joined.json().getString("started_at"), "a second POST joins the running round");

      JsonObject[] last = {null};
      assertTrue(Await.poll(Duration.ofSeconds(60), () -> {
        Response r = http.get(base + "/admin/repair");
        assertEquals(200, r.status(), r::toString);
        last[0] = r.json();
        return !last[0].getBoolean("running");
      }), () -> "the round did not complete: " + last[0]);
      JsonObject done = last[0].getJsonObject("last_round");
      assertNotNull(done, last[0]::toString);
      assertEquals(progress.getString("started_at"), done.getString("started_at"));
      assertEquals(1, done.getInteger("peers_done"));
      assertEquals(0, done.getInteger("peers_failed"));
      assertEquals(1024L, done.getLong("buckets_compared"));
      assertEquals((long) RECORDS, done.getLong("records_pushed"), done::toString);
      assertEquals(0L, done.getLong("records_pulled"));
      assertNotNull(done.getString("completed_at"));
      assertEquals(1, done.getJsonArray("peers").size());
      assertEquals(200, http.local(c.baseUrl(1), "only-on-0-" + (RECORDS - 1)).status(), "the records reached node 1");

      // A new round: the replicas agree now, so it completes within the wait and answers its report.
      Response waited = http.post(base + "/admin/repair?wait=30s", "");
      assertEquals(200, waited.status(), waited::toString);
      JsonObject report = waited.json();
      assertEquals("0", report.getString("node_id"));
      JsonObject peer = report.getJsonArray("peers").getJsonObject(0);
      assertEquals(1, peer.getInteger("peer"));
      assertEquals(0, peer.getInteger("buckets_differing"), report::toString);
      assertFalse(peer.containsKey("error"), report::toString);

      Response bad = http.post(base + "/admin/repair?wait=soon", "");
      assertEquals(400, bad.status(), bad::toString);
      assertEquals("invalid_wait", bad.json().getString("error"));
      assertEquals(400, http.post(base + "/admin/repair?wait=11m", "").status(), "a wait over 10m is refused");
    }
  }
}
