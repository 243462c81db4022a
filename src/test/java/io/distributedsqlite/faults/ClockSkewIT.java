package io.distributedsqlite.faults;

import static io.distributedsqlite.support.ClusterHttp.enc;
import static io.distributedsqlite.support.Await.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.Version;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.NodeProcess;
import io.distributedsqlite.support.ProcessCluster;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Skewed clocks on real node processes. A node's clock is set by the test-only setting
 * TEST_ONLY_CLOCK_OFFSET, which shifts every wall-clock read of the node, or by libfaketime
 * (Debian's {@code libfaketime}, preloaded into the node's JVM with the monotonic clock left
 * alone). The high-water scenario runs its clock-ahead phase under libfaketime where it is
 * installed (CI installs it); a JVM under libfaketime starts several times slower here, so the
 * multi-node scenarios use the setting.
 */
class ClockSkewIT {
  static final Path FAKETIME = Path.of("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1");
  private static final Map<String, String> ENV = Map.of("ANTI_ENTROPY_INTERVAL", "1h", "PROBE_FAILURES", "5");
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** What {@link #skewedClock} sets, removed to restart a node on the right time. */
  private static final Set<String> UNSKEWED = Set.of("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC", "TEST_ONLY_CLOCK_OFFSET");

  private final ClusterHttp http = new ClusterHttp();
  private Path dir;
  private ProcessCluster cluster;

  @BeforeEach
  void nodeDir(TestInfo info) throws IOException {
    String name = info.getTestMethod().orElseThrow().getName() + info.getDisplayName().replaceAll("[^0-9a-zA-Z]+", "-");
    dir = NodeProcess.itDir("clock-" + name);
  }

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** The environment that sets a node's wall clock {@code seconds} off (libfaketime when installed). */
  static Map<String, String> skewedClock(long seconds, boolean preferFaketime) {
    if (preferFaketime && Files.isReadable(FAKETIME)) {
      return Map.of("LD_PRELOAD", FAKETIME.toString(), "FAKETIME", (seconds >= 0 ? "+" : "") + seconds,
          "FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
    return Map.of("TEST_ONLY_CLOCK_OFFSET", (seconds >= 0 ? "+" : "-") + Math.abs(seconds) + "s");
  }

  private String url(int node, String path) {
    return cluster.baseUrl(node) + path;
  }

  private Response set(int node, String key, Object value, String w) {
    return http.post(url(node, "/set?w=" + w), new JsonObject().put("key", key).put("value", value).encode());
  }

  /** Node {@code observer}'s /cluster entry for {@code peer}. */
  private JsonObject clusterEntry(int observer, int peer) {
    Response r = http.get(url(observer, "/cluster"));
    if (r.status() != 200 || r.json() == null) {
      return null;
    }
    JsonArray nodes = r.json().getJsonArray("nodes");
    for (int i = 0; i < nodes.size(); i++) {
      if (nodes.getJsonObject(i).getInteger("id") == peer) {
        return nodes.getJsonObject(i);
      }
    }
    return null;
  }

  private void awaitEveryNodeTakesQuorumWrites() {
    for (int i = 0; i < cluster.size(); i++) {
      int node = i;
      assertTrue(poll(WAIT, () -> set(node, "warm-up", node, "quorum").status() == 200),
          () -> "node " + node + " never took a w=quorum write: " + set(node, "warm-up", node, "quorum"));
    }
  }

  /**
   * One node 1.5 s behind (MAX_CLOCK_OFFSET=2s, so it still coordinates): 100 rounds of a
   * quorum read and then a quorum write through another node, and 100 rounds of two back-to-back
   * quorum writes of one key through different coordinators. Every read must see the last
   * acknowledged write; half of the writes go through the lagging node.
   */
  @ParameterizedTest(name = "{0} nodes RF={1}")
  @CsvSource({"3,3", "5,3"})
  void oneNodeBehindLosesNoAcknowledgedWrites(int nodes, int rf) {
    Map<String, String> env = new HashMap<>(ENV);
    env.put("MAX_CLOCK_OFFSET", "2s");
    cluster = ProcessCluster.start(nodes, rf, dir, env, Map.of(1, Map.of("TEST_ONLY_CLOCK_OFFSET", "-1500ms")));
    awaitEveryNodeTakesQuorumWrites();

    // The others see node 1 about 1.5 s behind; the bound is half a round trip.
    assertTrue(poll(WAIT, () -> {
      JsonObject e = clusterEntry(0, 1);
      return e != null && e.getValue("clock_offset_ms") instanceof Number n && Math.abs(n.doubleValue() + 1500) < 250;
    }), () -> "node 0 never measured node 1 about 1500 ms behind: " + clusterEntry(0, 1));
    assertTrue(http.get(url(1, "/ready")).status() == 200, "a clock within MAX_CLOCK_OFFSET keeps the node ready");

    int lost = 0;
    Object lastAcked = null;
    Object unsure = null;
    for (int i = 0; i < 100; i++) {
      int reader = (i * 7) % nodes;
      int writer = i % 2 == 0 && reader != 1 ? 1 : (reader + 1) % nodes;
      Response read = http.get(url(reader, "/get?key=rtw&r=quorum"));
      Object seen = read.status() == 200 ? read.json().getValue("value") : null;
      if (lastAcked != null && !lastAcked.equals(seen) && (unsure == null || !unsure.equals(seen))) {
        lost++;
      }
      Response w = set(writer, "rtw", i, "quorum");
      if (w.status() == 200) {
        lastAcked = i;
        unsure = null;
      } else {
        unsure = i; // not acknowledged (e.g. a timeout on a busy machine): it may or may not have landed
      }
    }
    assertEquals(0, lost, "read-then-write rounds that did not read the last acknowledged write");

    int lostPairs = 0;
    for (int i = 0; i < 100; i++) {
      int first = (i * 3) % nodes;
      int second = i % 2 == 0 && first != 1 ? 1 : (first + 1) % nodes;
      Response a = set(first, "b2b", i + "-first", "quorum");
      Response b = set(second, "b2b", i + "-second", "quorum");
      if (b.status() != 200) {
        continue;
      }
      Response read = http.get(url((second + 1) % nodes, "/get?key=b2b&r=quorum"));
      if (read.status() != 200 || !(i + "-second").equals(read.json().getString("value"))) {
        lostPairs++;
      }
    }
    assertEquals(0, lostPairs, "back-to-back rounds in which the later acknowledged write lost");

    if (nodes > rf) {
      // A key node 1 does not replicate: it cannot have seen node 0's version, so its own write,
      // stamped 1.5 s earlier, loses at the replicas, is re-stamped above it and wins.
      boolean restamped = false;
      for (int i = 0; i < 50 && !restamped; i++) {
        String key = "not-on-1-" + i;
        assertEquals(200, set(0, key, "first", "all").status());
        if (http.get(url(1, "/internal/get?key=" + key)).status() != 404) {
          continue;
        }
        Response later = set(1, key, "second", "quorum");
        assertEquals(200, later.status(), later::toString);
        restamped = later.json().getJsonObject("consistency").getInteger("restamped", 0) > 0;
        Response read = http.get(url(2, "/get?r=quorum&key=" + key));
        assertEquals("second", read.json().getString("value"), read::toString);
      }
      assertTrue(restamped, "a write through the lagging node that lost to a version it had not seen was re-stamped");
    }
  }

  /**
   * One node's clock two hours ahead: it never coordinates a write
   * (503 clock_offset) and is not ready; no replica ever holds a record stamped in the future; a
   * batch with one future record applies the others; writes through the other nodes win; once it
   * restarts on the right time it is ready and serves writes again.
   */
  @Test
  void nodeTwoHoursAheadRefusesToCoordinateUntilItsClockIsFixed() {
    long twoHours = Duration.ofHours(2).toSeconds();
    cluster = ProcessCluster.start(3, 3, dir, ENV, Map.of(2, skewedClock(twoHours, false)));

    assertTrue(poll(WAIT, () -> {
      Response r = http.get(url(2, "/ready"));
      return r.status() == 503 && r.body().contains("clock_offset");
    }), () -> "node 2 should be not ready because of its clock: " + http.get(url(2, "/ready")));
    for (int i = 0; i < 20; i++) {
      Response r = set(2, "ahead-" + i, "from-node-2", "one");
      assertEquals(503, r.status(), () -> "a write through the node 2 h ahead: " + r);
      assertEquals("clock_offset", r.json().getString("error"));
    }
    // /cluster shows the offsets from both sides, /metrics too.
    JsonObject seenFrom0 = clusterEntry(0, 2);
    assertNotNull(seenFrom0);
    assertTrue(Math.abs(seenFrom0.getDouble("clock_offset_ms") - 7_200_000) < 5_000, () -> "node 0 sees node 2 at " + seenFrom0);
    JsonObject seenFrom2 = clusterEntry(2, 0);
    assertTrue(Math.abs(seenFrom2.getDouble("clock_offset_ms") + 7_200_000) < 5_000, () -> "node 2 sees node 0 at " + seenFrom2);
    assertEquals(false, http.get(url(2, "/cluster")).json().getJsonObject("clock").getBoolean("coordinating_writes"));
    assertTrue(http.get(url(0, "/metrics")).body().contains("dsqlite_clock_offset_seconds{"), "metrics show the offsets");
    assertEquals(200, http.get(url(0, "/ready")).status(), "the nodes with the right time stay ready");

    // The others take the same keys; node 2, a replica of every key, stores them.
    for (int i = 0; i < 20; i++) {
      assertEquals(200, set(i % 2, "ahead-" + i, "from-" + (i % 2), "all").status());
    }
    long now = System.currentTimeMillis();
    for (int node = 0; node < 3; node++) {
      for (int i = 0; i < 20; i++) {
        Response r = http.get(url(node, "/internal/get?key=" + enc("ahead-" + i)));
        assertEquals(200, r.status());
        Version v = Version.parse(r.json().getString("version"));
        int n = node;
        assertTrue(v.millis() < now + 60_000, () -> "node " + n + " holds a record stamped in the future: " + r);
        assertEquals("from-" + (i % 2), r.json().getString("value"));
      }
    }

    // A batch with one future record: the others apply, the future one is refused and reported.
    String future = Version.of(now + 7_200_000, 0, 2).toString();
    String past = Version.of(now, 0, 2).toString();
    JsonArray batch = new JsonArray()
        .add(new JsonObject().put("key", "batch-a").put("value", 1).put("version", past))
        .add(new JsonObject().put("key", "batch-future").put("value", 2).put("version", future))
        .add(new JsonObject().put("key", "batch-b").put("value", 3).put("version", past));
    Response applied = http.post(url(0, "/internal/apply"), batch.encode());
    assertEquals(200, applied.status(), applied::toString);
    assertEquals(2, applied.json().getInteger("applied"), applied::toString);
    assertEquals(new JsonArray().add(1), applied.json().getJsonArray("refused"), applied::toString);
    assertEquals(200, http.get(url(0, "/internal/get?key=batch-a")).status());
    assertEquals(200, http.get(url(0, "/internal/get?key=batch-b")).status());
    assertEquals(404, http.get(url(0, "/internal/get?key=batch-future")).status(), "a refused record is not stored");
    assertTrue(http.get(url(0, "/metrics")).body().matches("(?s).*dsqlite_records_refused_future_total\\{[^}]*} [1-9].*"),
        "refusals are counted");
    Response write = set(0, "after-batch", "x", "quorum");
    assertEquals(200, write.status());
    assertTrue(Version.parse(write.json().getString("version")).millis() < now + 60_000,
        () -> "a refused stamp never moves the clock: " + write);

    // Restarted on the right time, node 2 is ready and its writes win over earlier ones.
    cluster.restartWith(2, Map.of(), UNSKEWED);
    assertTrue(poll(WAIT, () -> http.get(url(2, "/ready")).status() == 200), () -> "node 2 after the fix: " + http.get(url(2, "/ready")));
    for (int i = 0; i < 5; i++) {
      int key = i;
      assertTrue(poll(WAIT, () -> set(2, "ahead-" + key, "fixed-" + key, "quorum").status() == 200));
      Response r = http.get(url(i % 2, "/get?r=quorum&key=" + enc("ahead-" + i)));
      assertEquals("fixed-" + i, r.json().getString("value"), r::toString);
    }
  }

  /**
   * A persisted high-water mark ahead of the wall clock (a one-node cluster, exempt from the
   * offset check, wrote while its clock ran 30 s ahead, through libfaketime where installed):
   * restarted on the right time, the node is
   * not ready and refuses writes instead of stamping versions its peers would refuse or going
   * backwards; it still serves reads, and once its wall clock has caught up it serves writes
   * again by itself, stamped after the old ones.
   */
  @Test
  void highWaterMarkAheadOfTheClockBlocksWritesUntilTheClockCatchesUp() {
    cluster = ProcessCluster.start(1, 1, dir, ENV, Map.of(0, skewedClock(30, true)));
    Response first = set(0, "hw", "ahead", "one");
    assertEquals(200, first.status(), first::toString);
    Version old = Version.parse(first.json().getString("version"));

    cluster.restartWith(0, Map.of(), UNSKEWED);
    Response ready = http.get(url(0, "/ready"));
    assertEquals(503, ready.status(), ready::toString);
    assertTrue(ready.json().getString("reason").contains("high-water"), ready::toString);
    Response refused = set(0, "hw", "too-early", "one");
    assertEquals(503, refused.status(), refused::toString);
    assertEquals("clock_offset", refused.json().getString("error"));
    assertEquals("ahead", http.get(url(0, "/get?key=hw")).json().getString("value"), "reads are served meanwhile");

    assertTrue(poll(Duration.ofSeconds(40), () -> http.get(url(0, "/ready")).status() == 200), "ready once the clock caught up");
    Response later = set(0, "hw", "later", "one");
    assertEquals(200, later.status(), later::toString);
    assertTrue(Version.parse(later.json().getString("version")).isNewerThan(old), "stamps never went backwards");
    assertEquals("later", http.get(url(0, "/get?key=hw")).json().getString("value"));
  }
}
