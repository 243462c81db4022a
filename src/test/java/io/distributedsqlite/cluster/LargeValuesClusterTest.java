package io.distributedsqlite.cluster;

import static io.distributedsqlite.support.Await.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peer exchanges of large values on 3 in-JVM nodes (RF=3): /internal/read and /internal/records
 * answer within the asker's byte budget and name the keys they left out, bucket listings come
 * in pages that follow a cursor, bodies over the limit are refused, and a hint its replica
 * refuses on its own is dropped (counted) instead of holding back the hints behind it.
 */
class LargeValuesClusterTest {
  private static final int VALUE = 300 * 1024;
  private final ClusterHttp http = new ClusterHttp();

  @TempDir
  Path dir;

  private static String value(int i, int bytes) {
    return "\"" + Character.toString('a' + i % 26).repeat(bytes - 2) + "\"";
  }

  @Test
  void readsAndRecordsAnswerWithinTheByteBudgetAndNameTheKeysLeftOut() {
    try (TestCluster c = TestCluster.start(3, 3, dir)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(20));
      JsonArray keys = new JsonArray();
      for (int i = 0; i < 10; i++) {
        assertEquals(200, http.set(c.baseUrl(0), "lv-" + i, value(i, VALUE), "all").status());
        keys.add("lv-" + i);
      }
      keys.add("absent");

      Set<String> served = new HashSet<>();
      JsonArray ask = keys;
      int answers = 0;
      while (!ask.isEmpty()) {
        Response r = http.post(c.baseUrl(1) + "/internal/read?max_bytes=" + PeerLimits.BATCH_BYTES, ask.encode());
        assertEquals(200, r.status(), r.toString());
        assertTrue(r.body().length() <= PeerLimits.BATCH_BYTES + PeerLimits.ENVELOPE, r.body().length() + " bytes");
        JsonObject page = r.json();
        JsonArray records = page.getJsonArray("records");
        assertTrue(records.size() >= 1 && records.size() <= 3, records.size() + " records of 300 KiB in one answer");
        for (int i = 0; i < records.size(); i++) {
          assertTrue(served.add(records.getJsonObject(i).getString("key")));
        }
        ask = page.getJsonArray("unserved");
        answers++;
      }
      assertEquals(10, served.size());
      assertEquals(4, answers, "ten records of 300 KiB in answers of 1 MiB");

      Response legacy = http.post(c.baseUrl(1) + "/internal/read", keys.encode());
      assertEquals(413, legacy.status(), "an answer that does not fit one page is refused to an asker without max_bytes: " + legacy);
      assertEquals("response_too_large", legacy.json().getString("error"));
      Response legacySmall = http.post(c.baseUrl(1) + "/internal/read", new JsonArray().add("lv-1").add("absent").encode());
      assertEquals(200, legacySmall.status());
      assertEquals(1, new JsonArray(legacySmall.body()).size());

      Response alone = http.post(c.baseUrl(2) + "/internal/records?max_bytes=1000", new JsonArray().add("lv-1").add("lv-2").add("lv-3").encode());
      assertEquals(200, alone.status(), alone.toString());
      assertEquals(1, alone.json().getJsonArray("records").size(), "a record over the budget comes alone");
      assertEquals(2, alone.json().getJsonArray("unserved").size());
      assertEquals(400, http.post(c.baseUrl(2) + "/internal/records?max_bytes=0", "[\"lv-1\"]").status());

      for (int i = 0; i < 10; i++) {
        Response read = http.read(c.baseUrl(0), "lv-" + i, "all");
        assertEquals(200, read.status(), "r=all of a 300 KiB value");
        assertEquals(VALUE - 2, read.json().getString("value").length());
      }

      StringBuilder tooLarge = new StringBuilder("[");
      for (int i = 0; i < 45; i++) {
        tooLarge.append(i == 0 ? "" : ",").append("{\"key\":\"x").append(i).append("\",\"value\":").append(value(i, VALUE))
            .append(",\"version\":\"1764084083123.0.0\"}");
      }
      Response refused = http.post(c.baseUrl(1) + "/internal/apply", tooLarge.append(']').toString());
      assertEquals(413, refused.status(), "an apply body over the limit: " + refused);
      assertEquals(404, http.local(c.baseUrl(1), "x1").status(), "nothing of it was applied");
    }
  }

  @Test
  void bucketListingsComeInPagesThatFollowTheirCursor() {
    try (TestCluster c = TestCluster.start(3, 3, dir)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(20));
      for (int i = 0; i < 300; i++) {
        assertEquals(200, http.set(c.baseUrl(i % 3), "small-" + i, "{\"i\":" + i + "}", "all").status());
      }
      StringBuilder buckets = new StringBuilder();
      for (int b = 0; b < 256; b++) {
        buckets.append(b == 0 ? "" : ",").append(b);
      }
      String listing = c.baseUrl(1) + "/internal/buckets?peer=0&buckets=" + buckets;
      Response whole = http.get(listing);
      assertEquals(200, whole.status(), "without limit, a listing that fits one page is the plain array");
      Set<String> expected = new HashSet<>();
      JsonArray all = new JsonArray(whole.body());
      for (int i = 0; i < all.size(); i++) {
        expected.add(all.getJsonObject(i).getString("key"));
      }
      assertFalse(expected.isEmpty());

      Set<String> paged = new HashSet<>();
      String next = "";
      int pages = 0;
      while (next != null) {
        Response r = http.get(listing + "&limit=7" + next);
        assertEquals(200, r.status(), r.toString());
        JsonArray records = r.json().getJsonArray("records");
        assertTrue(records.size() <= 7);
        for (int i = 0; i < records.size(); i++) {
          assertNull(records.getJsonObject(i).getValue("value"), "listings carry no values");
          assertTrue(paged.add(records.getJsonObject(i).getString("key")), "listed twice");
        }
        JsonObject cursor = r.json().getJsonObject("next");
        next = cursor == null ? null
            : "&after_bucket=" + cursor.getInteger("bucket") + "&after_key=" + ClusterHttp.enc(cursor.getString("key"));
        pages++;
      }
      assertEquals(expected, paged);
      assertTrue(pages >= expected.size() / 7, pages + " pages");

      assertEquals(400, http.get(listing + "&limit=0").status());
      assertEquals(400, http.get(listing + "&limit=7&after_bucket=3").status(), "after_bucket needs after_key");
    }
  }

  @Test
  void aHintItsReplicaRefusesIsDroppedAndTheOthersAreDelivered() {
    try (TestCluster c = TestCluster.start(3, 3, dir, Map.of("MAX_VALUE_BYTES", "2097152", "ANTI_ENTROPY_INTERVAL", "1h"))) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(20));
      c.stopNode(2);
      assertTrue(poll(Duration.ofSeconds(10), () -> "down".equals(io.distributedsqlite.support.ProcessCluster.peerState(http, c.baseUrl(0), 2))));
      List<String> versions = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        if (i == 4) {
          assertEquals(200, http.set(c.baseUrl(0), "too-big", value(0, 1536 * 1024), "quorum").status());
        }
        Response w = http.set(c.baseUrl(0), "h-" + i, "{\"i\":" + i + "}", "quorum");
        assertEquals(200, w.status(), w.toString());
        versions.add(w.json().getString("version"));
      }
      // node 2 comes back refusing values over 1 MiB: the 1.5 MiB hint can never be delivered to it
      c.setNodeEnv(2, Map.of("MAX_VALUE_BYTES", "1048576"));
      c.startNode(2);
      assertTrue(poll(Duration.ofSeconds(20), () -> hintsPending(c.baseUrl(0), 2) == 0),
          "node 0 still has " + hintsPending(c.baseUrl(0), 2) + " hints for node 2");
      for (int i = 0; i < 10; i++) {
        Response local = http.local(c.baseUrl(2), "h-" + i);
        assertEquals(200, local.status(), "h-" + i + " on node 2: " + local);
        assertEquals(versions.get(i), local.json().getString("version"));
      }
      Matcher m = Pattern.compile("(?m)^dsqlite_hints_refused_total\\S* (\\S+)$").matcher(http.get(c.baseUrl(0) + "/metrics").body());
      assertTrue(m.find(), "dsqlite_hints_refused_total is exported");
      assertEquals(1.0, Double.parseDouble(m.group(1)), "the one refused hint is counted");
    }
  }

  private long hintsPending(String base, int peer) {
    Response r = http.get(base + "/cluster");
    if (r.status() != 200) {
      return -1;
    }
    JsonArray nodes = r.json().getJsonArray("nodes");
    for (int i = 0; i < nodes.size(); i++) {
      JsonObject n = nodes.getJsonObject(i);
      if (n.getInteger("id") == peer) {
        assertNotNull(n.getLong("hints_pending"));
        return n.getLong("hints_pending");
      }
    }
    return -1;
  }
}
