package io.distributedsqlite.multikey;

import static io.distributedsqlite.support.ClusterHttp.enc;
import static io.distributedsqlite.support.Await.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.cluster.Ring;
import io.distributedsqlite.storage.KeyRange;
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
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /scan} on 4 nodes with RF=3: paging returns exactly the live keys in key order (also
 * with a node down), repairs replicas that missed writes, and never repeats or skips a key that
 * stays unchanged while other keys are written.
 */
class ScanTest {
  /** Peers get longer to answer than the default test setting: CI machines run several builds at once. */
  private static final Map<String, String> LOADED_MACHINE = Map.of("PEER_TIMEOUT", "5s");
  private final ClusterHttp http = new ClusterHttp();

  /** Every page of a scan; asserts each page answers 200 and keys rise strictly across pages. */
  private List<JsonObject> scanAll(String base, String query) {
    List<JsonObject> items = new ArrayList<>();
    String cursor = null;
    for (int page = 0; page < 10_000; page++) {
      Response r = http.get(base + "/scan?" + query + (cursor == null ? "" : "&cursor=" + enc(cursor)));
      assertEquals(200, r.status(), "scan page " + page + ": " + r);
      JsonObject body = r.json();
      for (Object o : body.getJsonArray("items")) {
        JsonObject item = (JsonObject) o;
        if (!items.isEmpty()) {
          String prev = items.get(items.size() - 1).getString("key");
          assertTrue(KeyRange.compare(prev, item.getString("key")) < 0,
              "keys must rise strictly across pages: " + prev + " then " + item.getString("key"));
        }
        items.add(item);
      }
      cursor = body.getString("cursor");
      if (cursor == null) {
        return items;
      }
    }
    throw new AssertionError("scan did not finish within 10000 pages");
  }

  private static List<String> keys(List<JsonObject> items) {
    return items.stream().map(i -> i.getString("key")).toList();
  }

  /** A set that must meet its level; retried (it is idempotent) while a loaded machine makes a peer miss its timeout. */
  private void write(String base, String key, String value, String query) {
    String body = "{\"key\":" + io.vertx.core.json.Json.encode(key) + ",\"value\":" + value + "}";
    Response[] last = new Response[1];
    assertTrue(poll(Duration.ofSeconds(20), () -> (last[0] = http.post(base + "/set?" + query, body)).status() == 200),
        "set " + key + ": " + last[0]);
  }

  @Test
  void pagingAPrefixReturnsExactlyTheLiveKeysInOrderAlsoWithANodeDown(@TempDir Path dir) {
    try (TestCluster c = TestCluster.start(4, 3, dir, LOADED_MACHINE)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(10));
      TreeSet<String> liveUsers = new TreeSet<>(KeyRange.ORDER);
      List<String> expiring = new ArrayList<>();
      // Written through /batch at w=all (two requests of 500 ops), then 50 deletes.
      JsonArray ops = new JsonArray();
      for (int i = 0; i < 1000; i++) {
        String key = (i % 2 == 0 ? "users/" : "orders/") + String.format("%05d", i);
        boolean expires = i % 2 == 0 && i % 50 == 10;
        JsonObject op = new JsonObject().put("op", "set").put("key", key).put("value", new JsonObject().put("n", i));
        ops.add(expires ? op.put("ttl", 1) : op);
        if (key.startsWith("users/") && !expires) {
          liveUsers.add(key);
        }
        if (expires) {
          expiring.add(key);
        }
        if (ops.size() == 500) {
          Response r = http.post(c.baseUrl(i % 4) + "/batch?w=all", new JsonObject().put("ops", ops).encode());
          assertEquals(200, r.status(), r.toString());
          ops = new JsonArray();
        }
      }
      for (int i = 0; i < 100; i += 2) {
        String key = (i % 4 == 0 ? "users/" : "orders/") + String.format("%05d", i + (i % 4 == 0 ? 2 : 1));
        ops.add(new JsonObject().put("op", "delete").put("key", key));
        liveUsers.remove(key);
      }
      Response deletes = http.post(c.baseUrl(3) + "/batch?w=all", new JsonObject().put("ops", ops).encode());
      assertEquals(200, deletes.status(), deletes.toString());
      assertTrue(poll(Duration.ofSeconds(10), () -> expiring.stream().allMatch(k -> http.read(c.baseUrl(0), k, "all").status() == 404)),
          "the ttl=1 keys expire");

      List<JsonObject> items = scanAll(c.baseUrl(1), "prefix=users/&limit=37");
      assertEquals(new ArrayList<>(liveUsers), keys(items));
      JsonObject first = items.get(0);
      assertEquals(new JsonObject("{\"n\":" + Integer.parseInt(first.getString("key").substring(6)) + "}"), first.getJsonObject("value"));
      assertTrue(first.getString("version").matches("\\d+\\.\\d+\\.\\d+"), "version " + first);

      List<JsonObject> keysOnly = scanAll(c.baseUrl(2), "prefix=users/&limit=37&values=false");
      assertEquals(new ArrayList<>(liveUsers), keys(keysOnly));
      assertTrue(keysOnly.stream().noneMatch(i -> i.containsKey("value")), "values=false leaves values out");

      List<String> range = keys(scanAll(c.baseUrl(0), "start=users/00100&end=users/00200&limit=37"));
      assertEquals(new ArrayList<>(liveUsers.subSet("users/00100", "users/00200")), range);

      c.stopNode(3);
      assertEquals(new ArrayList<>(liveUsers), keys(scanAll(c.baseUrl(0), "prefix=users/&limit=37&r=quorum")));
      Response all = http.get(c.baseUrl(0) + "/scan?prefix=users/&r=all");
      assertEquals(503, all.status(), "r=all cannot be met with a node down: " + all);
      assertEquals("unavailable", all.json().getString("error"));
    }
  }

  @Test
  void aReplicaThatMissedWritesIsRepairedByTheScan(@TempDir Path dir) {
    Ring ring = new Ring(4, 3);
    // No peer is seen down and up again on a busy machine: that would start a repair round.
    try (TestCluster c = TestCluster.start(4, 3, dir, Map.of("PEER_TIMEOUT", "5s", "PROBE_FAILURES", "50"))) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(10));
      for (int i = 0; i < 60; i++) {
        write(c.baseUrl(0), "fix/" + i, "\"old-" + i + "\"", "w=all");
      }
      // Anti-entropy's start-up rounds are over (every node has repaired with every peer), so
      // nothing but the scan sends node 3 what it misses below (the next round is minutes away).
      assertTrue(poll(Duration.ofSeconds(30), () -> c.baseUrls().stream().allMatch(base -> {
        JsonObject view = http.get(base + "/cluster").json();
        return view != null && view.getJsonArray("nodes").stream()
            .allMatch(n -> ((JsonObject) n).getString("last_repair") != null || ((JsonObject) n).getBoolean("self", false));
      })), "start-up repair rounds finished");
      // Newer versions reach the other replicas only (replica traffic is applied locally), as if
      // node 3 had missed the writes; nothing else (hints, anti-entropy) is pending to fix it.
      String version = (System.currentTimeMillis() + 5) + ".0.0";
      List<String> missed = new ArrayList<>();
      List<String> deleted = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        String key = "fix/" + i;
        if (!ring.isReplica(key, 3)) {
          continue;
        }
        String record = i % 3 == 0
            ? "{\"key\":\"" + key + "\",\"value\":null,\"version\":\"" + version + "\",\"tombstone\":true}"
            : "{\"key\":\"" + key + "\",\"value\":\"new-" + i + "\",\"version\":\"" + version + "\"}";
        (i % 3 == 0 ? deleted : missed).add(key);
        for (int replica : ring.replicasFor(key)) {
          if (replica != 3) {
            assertEquals(200, http.post(c.baseUrl(replica) + "/internal/apply", "[" + record + "]").status());
          }
        }
      }
      assertTrue(missed.size() > 5 && deleted.size() > 2, "node 3 replicates some of the keys");
      for (String key : missed) {
        assertTrue(http.local(c.baseUrl(3), key).json().getString("value").startsWith("old-"), "node 3 missed " + key);
      }

      List<String> live = keys(scanAll(c.baseUrl(1), "prefix=fix/&limit=37&values=false&r=quorum"));
      assertEquals(60 - deleted.size(), live.size());
      assertTrue(poll(Duration.ofSeconds(10), () -> missed.stream().allMatch(k ->
          ("new-" + k.substring(4)).equals(http.local(c.baseUrl(3), k).json().getString("value")))),
          "the scan sends node 3 the newer values it missed");
      assertTrue(poll(Duration.ofSeconds(10), () -> deleted.stream().allMatch(k ->
          Boolean.TRUE.equals(http.local(c.baseUrl(3), k).json().getBoolean("tombstone")))),
          "the scan sends node 3 the deletes it missed");
    }
  }

  @Test
  void scanDuringConcurrentWritesNeitherRepeatsNorSkipsUnchangedKeys(@TempDir Path dir) throws Exception {
    try (TestCluster c = TestCluster.start(4, 3, dir, LOADED_MACHINE)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(10));
      List<String> stable = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        String key = String.format("c/%04d", i * 10);
        write(c.baseUrl(i % 4), key, "\"stable\"", "w=all");
        stable.add(key);
      }
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger writes = new AtomicInteger();
      Thread writer = new Thread(() -> {
        ClusterHttp w = new ClusterHttp();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (int n = 0; n < 5000 && !stop.get() && System.nanoTime() < deadline; n++) {
          // Keys between the stable ones: new keys appear, others are overwritten or deleted.
          String key = String.format("c/%04d", (n * 7919) % 3000 / 10 * 10 + 1 + n % 9);
          if (n % 3 == 2) {
            w.remove(c.baseUrl(n % 4), key, "quorum");
          } else {
            w.set(c.baseUrl(n % 4), key, "{\"n\":" + n + "}", "quorum");
          }
          writes.incrementAndGet();
        }
      });
      writer.start();
      try {
        for (int round = 0; round < 3; round++) {
          List<String> seen = keys(scanAll(c.baseUrl(round % 4), "prefix=c/&limit=23&values=" + (round % 2 == 0)));
          Set<String> unique = new HashSet<>(seen);
          assertEquals(seen.size(), unique.size(), "no key repeated");
          for (String key : stable) {
            assertTrue(unique.contains(key), "unchanged key " + key + " was skipped in round " + round);
          }
        }
      } finally {
        stop.set(true);
        writer.join(30_000);
      }
      assertNotEquals(0, writes.get(), "writes ran during the scans");
    }
  }

  @Test
  void badScanParametersAreRefusedWithJsonErrors(@TempDir Path dir) {
    try (TestCluster c = TestCluster.start(1, 1, dir)) {
      String base = c.baseUrl(0);
      for (String q : List.of("limit=0", "limit=1001", "limit=x", "values=maybe", "r=most", "prefix=a&start=b",
          "cursor=%25%25", "cursor=not-base64!", "start=", "prefix=a&prefix=b")) {
        Response r = http.get(base + "/scan?" + q);
        assertEquals(400, r.status(), q + ": " + r);
        assertTrue(r.json().containsKey("error") && r.json().containsKey("message"), q + ": " + r);
      }
      Response empty = http.get(base + "/scan?prefix=nothing-here/");
      assertEquals(200, empty.status());
      assertEquals(new JsonArray(), empty.json().getJsonArray("items"));
      assertEquals(null, empty.json().getString("cursor"));
    }
  }
}
