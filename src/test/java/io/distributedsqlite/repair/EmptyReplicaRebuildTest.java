package io.distributedsqlite.repair;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Anti-entropy end to end on 3 in-JVM nodes with RF=3: a node whose data directory is wiped
 * rebuilds every key it replicates, deletes included, without anyone acting; and a replica that
 * missed writes while hinted handoff is off converges through repair alone.
 */
class EmptyReplicaRebuildTest {
  static final int KEYS = 5_000;
  static final ClusterHttp http = new ClusterHttp();
  static ExecutorService pool;

  @TempDir
  Path dir;

  @BeforeAll
  static void startPool() {
    pool = Executors.newFixedThreadPool(16);
  }

  @AfterAll
  static void stopPool() {
    pool.shutdownNow();
  }

  @Test
  void wipedNodeRebuildsAllKeysAndDeletedKeysStayDeleted() throws Exception {
    try (TestCluster c = TestCluster.start(3, 3, dir)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(20));
      // 5,000 keys, every tenth updated, every tenth (other) deleted; all at w=all.
      parallel(KEYS, i -> ok(http.set(c.baseUrl(i % 3), key(i), "{\"i\":" + i + ",\"tags\":[\"a\",\"b\"]}", "all")));
      parallel(KEYS / 10, j -> ok(http.set(c.baseUrl(j % 3), key(j * 10), "{\"i\":" + j + ",\"updated\":true}", "all")));
      parallel(KEYS / 10, j -> ok(http.remove(c.baseUrl(j % 3), key(j * 10 + 5), "all")));

      Map<Integer, String> expected = localVersions(c, 0);
      assertEquals(expected, localVersions(c, 1), "the two untouched replicas agree before the test");

      c.stopNode(2);
      try (Stream<Path> files = Files.walk(c.dataDir(2))) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
      long start = System.nanoTime();
      c.startNode(2);
      boolean converged = Await.poll(Duration.ofSeconds(60), () -> expected.equals(localVersions(c, 2)));
      long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
      assertTrue(converged, "the wiped node did not rebuild all " + KEYS + " keys within 60 s");
      System.out.println("wiped replica rebuilt " + KEYS + " keys in about " + seconds + " s");
      // it answers reads from its own records once its start-up round with both peers completed
      c.awaitReady(2, Duration.ofSeconds(30));

      for (int j = 0; j < KEYS / 10; j++) {
        JsonObject local = http.local(c.baseUrl(2), key(j * 10 + 5)).json();
        assertTrue(local.getBoolean("tombstone"), "deleted key came back on the rebuilt node: " + local);
      }
      for (int j = 0; j < 50; j++) {
        assertEquals(404, http.read(c.baseUrl(2), key(j * 10 + 5), "all").status());
        assertTrue(http.read(c.baseUrl(2), key(j * 10), "one").body().contains("\"updated\":true"));
      }
    }
  }

  @Test
  void replicaThatMissedWritesWithoutHintsConvergesThroughRepairAlone() throws Exception {
    Map<String, String> noHints = Map.of("HINTED_HANDOFF", "false", "ANTI_ENTROPY_INTERVAL", "1s");
    try (TestCluster c = TestCluster.start(3, 3, dir, noHints)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(20));
      c.stopNode(2);
      int n = 300;
      parallel(n, i -> ok(http.set(c.baseUrl(i % 2), key(i), "{\"missed\":" + i + "}", "quorum")));
      for (String base : List.of(c.baseUrl(0), c.baseUrl(1))) {
        JsonObject view = http.get(base + "/cluster").json();
        assertEquals(0L, view.getJsonArray("nodes").getJsonObject(2).getLong("hints_pending"),
            "hinted handoff is off, so no hints may be kept");
      }
      c.startNode(2);
      assertTrue(Await.poll(Duration.ofSeconds(30), () -> localVersions(c, 0, n).equals(localVersions(c, 2, n))),
          "the replica did not converge through anti-entropy");
      JsonObject report = http.post(c.baseUrl(0) + "/admin/repair?wait=1m", "").json();
      assertEquals(2, report.getJsonArray("peers").size(), "admin repair reports one round per peer: " + report);
      // The admin round just completed with both peers, so node 0's view has a time for each.
      JsonObject cluster = http.get(c.baseUrl(0) + "/cluster").json();
      for (int peer : new int[] {1, 2}) {
        assertTrue(cluster.getJsonArray("nodes").getJsonObject(peer).getString("last_repair") != null,
            "/cluster shows the last repair per peer: " + cluster);
      }
    }
  }

  /**
   * An empty node whose peers are all down cannot know what it should hold: it stays rebuilding
   * (not ready, answering no read from itself) until a replica of its ranges has repaired with
   * it, instead of calling itself rebuilt with nothing and answering 404 for keys its peers hold.
   */
  @Test
  void wipedNodeWhosePeersAreAllDownStaysRebuildingUntilOneComesBack() throws Exception {
    try (TestCluster c = TestCluster.start(3, 3, dir)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(20));
      int n = 50;
      parallel(n, i -> ok(http.set(c.baseUrl(i % 3), key(i), "{\"i\":" + i + "}", "all")));
      c.stopNode(1);
      c.stopNode(2);
      c.stopNode(0);
      try (Stream<Path> files = Files.walk(c.dataDir(0))) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
      c.startNode(0);
      // Both peers are seen down within a few probe timeouts; the node must still not be rebuilt.
      Await.until("node 0 names the peers it waits for", Duration.ofSeconds(20),
          () -> http.get(c.baseUrl(0) + "/ready").body().contains("waiting for peers [1, 2]"));
      Await.elapse(Duration.ofSeconds(2));
      ClusterHttp.Response ready = http.get(c.baseUrl(0) + "/ready");
      assertEquals(503, ready.status(), "an empty node with every peer down is not ready: " + ready);
      ClusterHttp.Response read = http.read(c.baseUrl(0), key(7), "one");
      assertTrue(read.status() != 404 && read.status() != 200, "no answer from an empty database: " + read);

      c.startNode(1);
      c.awaitReady(0, Duration.ofSeconds(30));
      for (int i = 0; i < n; i++) {
        ClusterHttp.Response local = http.local(c.baseUrl(0), key(i));
        assertEquals(200, local.status(), "rebuilt from node 1 alone: " + local);
      }
      assertEquals(200, http.read(c.baseUrl(0), key(7), "one").status());
    }
  }

  /**
   * Two replicas wiped while the third is down: each completes a round with the other, but an
   * empty peer is no source. Both stay rebuilding until the one that holds the data is back.
   */
  @Test
  void twoWipedNodesDoNotRebuildFromEachOther() throws Exception {
    try (TestCluster c = TestCluster.start(3, 3, dir)) {
      http.awaitAllUp(c.baseUrls(), Duration.ofSeconds(20));
      int n = 50;
      parallel(n, i -> ok(http.set(c.baseUrl(i % 3), key(i), "{\"i\":" + i + "}", "all")));
      c.stopNode(2);
      for (int wiped : new int[] {0, 1}) {
        c.stopNode(wiped);
        try (Stream<Path> files = Files.walk(c.dataDir(wiped))) {
          files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
      c.startNode(0);
      c.startNode(1);
      for (int wiped : new int[] {0, 1}) {
        Await.until("node " + wiped + " waits for node 2", Duration.ofSeconds(20),
            () -> http.get(c.baseUrl(wiped) + "/ready").body().contains("waiting for peers [2]"));
      }
      Await.elapse(Duration.ofSeconds(2));
      for (int wiped : new int[] {0, 1}) {
        ClusterHttp.Response ready = http.get(c.baseUrl(wiped) + "/ready");
        assertEquals(503, ready.status(), "an empty peer is no source: " + ready);
        ClusterHttp.Response read = http.read(c.baseUrl(wiped), key(3), "one");
        assertTrue(read.status() != 404 && read.status() != 200, "no answer from two empty databases: " + read);
      }

      c.startNode(2);
      c.awaitReady(0, Duration.ofSeconds(30));
      c.awaitReady(1, Duration.ofSeconds(30));
      for (int i = 0; i < n; i++) {
        assertEquals(200, http.local(c.baseUrl(0), key(i)).status(), "rebuilt from node 2: " + key(i));
        assertEquals(200, http.local(c.baseUrl(1), key(i)).status(), "rebuilt from node 2: " + key(i));
      }
    }
  }

  interface Op {
    void run(int i) throws Exception;
  }

  static void parallel(int n, Op op) throws Exception {
    List<Future<?>> futures = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int idx = i;
      futures.add(pool.submit(() -> {
        op.run(idx);
        return null;
      }));
    }
    for (Future<?> f : futures) {
      f.get();
    }
  }

  static void ok(ClusterHttp.Response r) {
    assertEquals(200, r.status(), () -> "write refused: " + r);
  }

  static String key(int i) {
    return "rebuild-" + i;
  }

  static Map<Integer, String> localVersions(TestCluster c, int node) {
    return localVersions(c, node, KEYS);
  }

  /** key index → "version/tombstone" of the node's local copy ("absent" when it has none). */
  static Map<Integer, String> localVersions(TestCluster c, int node, int keys) {
    Map<Integer, String> out = new java.util.concurrent.ConcurrentHashMap<>();
    try {
      parallel(keys, i -> {
        ClusterHttp.Response r = http.local(c.baseUrl(node), key(i));
        JsonObject o = r.status() == 200 ? r.json() : null;
        out.put(i, o == null ? "absent:" + r.status() : o.getString("version") + "/" + o.getBoolean("tombstone"));
      });
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return out;
  }
}
