package io.distributedsqlite.faults;

import static io.distributedsqlite.support.Await.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.NodeProcess;
import io.distributedsqlite.support.ProcessCluster;
import io.distributedsqlite.support.TcpProxy;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The stale-replica rule on real node processes (3 nodes, RF=3) with a short TOMBSTONE_GRACE:
 * what counts is the time a node was cut off from the cluster, not the time since it last wrote.
 * An idle cluster, and a whole cluster stopped together, come back ready with every key; a node
 * down while a delete was made and purged comes back stale, serves nothing and is counted down
 * until wiped, and nothing brings the deleted value back; a running node isolated by a real TCP
 * partition past the grace is stale when the link heals; a node restarted on an empty disk
 * answers no read from its empty database until its first repair round.
 */
class StaleReplicaIT {
  /**
   * The grace of the scenarios where a node must come back stale. The idle scenario restarts a
   * node and expects it ready, so its grace must be well above a node's start-up time on a busy
   * machine (up to ~15 s seen): {@link #IDLE_GRACE}.
   */
  private static final Duration GRACE = Duration.ofSeconds(10);
  private static final Duration IDLE_GRACE = Duration.ofSeconds(25);
  private static final Map<String, String> ENV = env(GRACE);
  private static final String[] LEVELS = {"one", "quorum", "all"};

  private final ClusterHttp http = new ClusterHttp();
  private Path dir;
  private ProcessCluster cluster;
  private final List<TcpProxy> proxies = new ArrayList<>();

  @BeforeEach
  void nodeDir(TestInfo info) throws IOException {
    dir = NodeProcess.jar().toAbsolutePath().getParent().resolve("it-nodes").resolve(info.getTestMethod().orElseThrow().getName());
    wipe(dir);
    Files.createDirectories(dir);
  }

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
    proxies.forEach(TcpProxy::close);
  }

  private static void wipe(Path d) throws IOException {
    if (Files.exists(d)) {
      try (Stream<Path> files = Files.walk(d)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static Map<String, String> env(Duration grace) {
    return Map.of(
        "TOMBSTONE_GRACE", grace.toSeconds() + "s",
        "HINT_WINDOW", "3s",
        "PROBE_FAILURES", "5",
        "ANTI_ENTROPY_INTERVAL", "1h");
  }

  private ProcessCluster start(Map<String, String> extra) {
    return start(ENV, extra);
  }

  private ProcessCluster start(Map<String, String> base, Map<String, String> extra) {
    Map<String, String> env = new LinkedHashMap<>(base);
    env.putAll(extra);
    cluster = ProcessCluster.start(3, 3, dir, env);
    http.awaitAllUp(cluster.baseUrls(), Duration.ofSeconds(20));
    return cluster;
  }

  private String base(int i) {
    return cluster.baseUrl(i);
  }

  /** Lets {@code d} pass, checking meanwhile that every node in {@code nodes} stays ready. */
  private void passWhileReady(Duration d, int... nodes) {
    Await.elapse(d, () -> {
      for (int i : nodes) {
        Response ready = http.get(base(i) + "/ready");
        assertEquals(200, ready.status(), "node " + i + " stopped being ready while idle: " + ready);
      }
    });
  }

  /** Lets {@code d} pass (nothing to observe: the nodes are down). */
  private static void pass(Duration d) {
    Await.elapse(d);
  }

  private void writeAll(Map<String, String> keys) {
    for (Map.Entry<String, String> e : keys.entrySet()) {
      Response w = http.set(base(0), e.getKey(), e.getValue(), "all");
      assertEquals(200, w.status(), w.toString());
    }
  }

  private void assertEveryKeyReads(Map<String, String> keys, String level) {
    for (int i = 0; i < 3; i++) {
      for (Map.Entry<String, String> e : keys.entrySet()) {
        Response r = http.read(base(i), e.getKey(), level);
        assertEquals(200, r.status(), "r=" + level + " of " + e.getKey() + " via node " + i + ": " + r);
        assertEquals(new JsonObject(e.getValue()), r.json().getJsonObject("value"), e.getKey());
      }
    }
  }

  private void assertStale(int node) {
    Response ready = http.get(base(node) + "/ready");
    assertEquals(503, ready.status(), "node " + node + " must not be ready: " + ready);
    String reason = ready.json().getString("reason", "");
    assertTrue(reason.contains("stale replica") && reason.contains("DATA_DIR"), "reason names the rule and the remedy: " + ready);
    JsonObject view = http.get(base(node) + "/cluster").json();
    assertEquals("stale", view.getString("standing"), view.encode());
  }

  /** Waits until {@code observer} counts {@code peer} down because it answers as a stale replica. */
  private void assertSeenDownAsStale(int observer, int peer) {
    boolean seen = poll(Duration.ofSeconds(15), () -> {
      Response r = http.get(base(observer) + "/cluster");
      if (r.status() != 200) {
        return false;
      }
      JsonObject n = r.json().getJsonArray("nodes").getJsonObject(peer);
      return "down".equals(n.getString("state")) && String.valueOf(n.getString("down_reason")).contains("stale_replica");
    });
    assertTrue(seen, "node " + observer + " does not show node " + peer + " down as a stale replica: " + http.get(base(observer) + "/cluster"));
  }

  private void assertServesNothing(int node, String key) {
    for (String level : LEVELS) {
      Response r = http.read(base(node), key, level);
      assertEquals(503, r.status(), "a stale node coordinates no read: " + r);
      assertEquals("stale_replica", r.json().getString("error"), r.toString());
    }
    Response w = http.set(base(node), "written-via-stale", "1", "one");
    assertEquals(503, w.status(), "a stale node coordinates no write: " + w);
    for (String path : List.of("/internal/get?key=" + key, "/internal/ping", "/internal/digests?peer=0",
        "/internal/buckets?peer=0&buckets=1", "/admin/repair")) {
      Response r = path.startsWith("/admin") ? http.post(base(node) + path, "") : http.get(base(node) + path);
      assertEquals(503, r.status(), path + " on a stale node: " + r);
    }
    Response read = http.post(base(node) + "/internal/read", "[\"" + key + "\"]");
    assertEquals(503, read.status(), "/internal/read on a stale node: " + read);
  }

  /** Stops a node, empties its data directory and starts it again: the remedy for a stale replica. */
  private void wipeAndRestart(int node) throws IOException {
    cluster.kill9(node);
    wipe(cluster.node(node).dataDir());
    cluster.restart(node);
    cluster.awaitReady(node, Duration.ofSeconds(30));
    http.awaitAllUp(cluster.baseUrls(), Duration.ofSeconds(20));
  }

  // ------------------------------------------------------------------

  @Test
  void idleClusterPastTheGraceRestartsReadyAndSoDoesAWholeClusterStoppedTogether() {
    start(env(IDLE_GRACE), Map.of());
    Map<String, String> keys = new LinkedHashMap<>();
    for (int k = 0; k < 10; k++) {
      keys.put("idle-" + k, "{\"k\":" + k + "}");
    }
    writeAll(keys);

    // No write for longer than the grace, every node up: nobody is cut off.
    passWhileReady(IDLE_GRACE.plusSeconds(2), 0, 1, 2);
    cluster.kill9(1);
    cluster.restart(1);
    cluster.awaitReady(1, Duration.ofSeconds(20));
    http.awaitAllUp(cluster.baseUrls(), Duration.ofSeconds(20));
    assertEveryKeyReads(keys, "one");
    JsonObject report = http.post(base(1) + "/admin/repair?wait=1m", "").json();
    for (Object p : report.getJsonArray("peers")) {
      assertTrue(!((JsonObject) p).containsKey("error"), "the restarted node repairs with its peers: " + report);
    }

    // The whole cluster lost together (power cut) for longer than the grace: nobody went on
    // without the others, so nobody is stale; the nodes ask each other and resume.
    for (int i = 0; i < 3; i++) {
      cluster.kill9(i);
    }
    pass(IDLE_GRACE.plusSeconds(2));
    long t0 = System.nanoTime();
    for (int i = 0; i < 3; i++) {
      cluster.node(i).start();
    }
    for (int i = 0; i < 3; i++) {
      cluster.node(i).awaitHealthy(ProcessCluster.START_TIMEOUT);
    }
    for (int i = 0; i < 3; i++) {
      cluster.awaitReady(i, Duration.ofSeconds(30));
    }
    System.out.printf("whole cluster stopped %d s (grace %d s): all ready %d ms after the start%n",
        IDLE_GRACE.toSeconds() + 2, IDLE_GRACE.toSeconds(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    http.awaitAllUp(cluster.baseUrls(), Duration.ofSeconds(20));
    assertEveryKeyReads(keys, "all");
  }

  @Test
  void deleteMadeAndPurgedWhileAReplicaWasDownNeverComesBack() throws IOException {
    start(Map.of("HINTED_HANDOFF", "false"));
    String key = "resurrect";
    writeAll(Map.of(key, "{\"old\":true}", "kept", "{\"kept\":true}"));
    cluster.kill9(2);
    Response d = http.remove(base(0), key, "quorum");
    assertEquals(200, d.status(), "w=quorum delete with node 2 down: " + d);
    // past the grace the tombstone is purged on both live replicas
    boolean purged = poll(GRACE.plusSeconds(15), () -> http.local(base(0), key).status() == 404
        && http.local(base(1), key).status() == 404);
    assertTrue(purged, "the tombstone was not purged: " + http.local(base(0), key) + " | " + http.local(base(1), key));
    // down for longer than the grace plus the few seconds in-touch times are measured to
    pass(Duration.ofSeconds(4));

    cluster.restart(2);
    assertTrue(poll(Duration.ofSeconds(15), () -> {
      Response r = http.get(base(2) + "/cluster");
      return r.status() == 200 && "stale".equals(r.json().getString("standing"));
    }), "node 2 must find itself stale: " + http.get(base(2) + "/ready"));
    assertStale(2);
    assertServesNothing(2, key);
    assertSeenDownAsStale(0, 2);
    assertSeenDownAsStale(1, 2);
    for (int i = 0; i < 2; i++) {
      for (String level : new String[] {"one", "quorum"}) {
        Response r = http.read(base(i), key, level);
        assertEquals(404, r.status(), "r=" + level + " via node " + i + " with node 2 stale: " + r);
      }
      Response all = http.read(base(i), key, "all");
      assertEquals(503, all.status(), "r=all via node " + i + " counts the stale node down: " + all);
      assertEquals(404, http.local(base(i), key).status(), "node " + i + " holds the deleted value again");
    }

    // the remedy: wipe node 2; it rebuilds and the key stays deleted everywhere
    wipeAndRestart(2);
    for (int i = 0; i < 3; i++) {
      for (String level : LEVELS) {
        Response r = http.read(base(i), key, level);
        assertEquals(404, r.status(), "r=" + level + " via node " + i + " after the rebuild: " + r);
      }
      Response kept = http.read(base(i), "kept", "all");
      assertEquals(200, kept.status(), "r=all of a live key via node " + i + ": " + kept);
    }
    for (int i = 0; i < 3; i++) {
      assertEquals(404, http.local(base(i), key).status(), "node " + i + " holds the deleted key: " + http.local(base(i), key));
    }
  }

  @Test
  void nodeIsolatedByAPartitionPastTheGraceIsStaleWhenTheLinkHeals() {
    // Node 2 reaches nodes 0 and 1, and they reach it, only through proxies the test can cut.
    TcpProxy[] via = new TcpProxy[3];
    Map<String, String> env = new LinkedHashMap<>(ENV);
    env.put("HINTED_HANDOFF", "false");
    cluster = ProcessCluster.start(3, 3, dir, env, (id, ports) -> {
      if (via[0] == null) {
        for (int i = 0; i < 3; i++) {
          via[i] = new TcpProxy(TestCluster.freePort(), ports[i]);
          proxies.add(via[i]);
        }
      }
      int[] seen = ports.clone();
      if (id == 2) {
        seen[0] = via[0].port();
        seen[1] = via[1].port();
      } else {
        seen[2] = via[2].port();
      }
      return Map.of("PEERS", NodeProcess.peers(seen));
    });
    http.awaitAllUp(cluster.baseUrls(), Duration.ofSeconds(20));
    String key = "partitioned";
    writeAll(Map.of(key, "{\"before\":true}"));

    long cutAt = System.nanoTime();
    for (TcpProxy p : via) {
      p.cut();
    }
    assertTrue(cluster.awaitPeerState(0, 2, "down", Duration.ofSeconds(10)), "node 0 must lose node 2");
    Response d = http.remove(base(0), key, "quorum");
    assertEquals(200, d.status(), "the majority side deletes: " + d);
    // node 2 keeps running, alone; past the grace it stops serving: it cannot tell on its own
    // whether the cluster went on without it
    assertTrue(poll(GRACE.plusSeconds(15), () -> {
      Response r = http.get(base(2) + "/cluster");
      return r.status() == 200 && "checking".equals(r.json().getString("standing"));
    }), "the isolated node must stop serving past the grace: " + http.get(base(2) + "/ready"));
    long staleAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutAt);
    assertTrue(staleAfter >= GRACE.toMillis() - 1000, "only after the grace, was " + staleAfter + " ms");
    Response checking = http.read(base(2), key, "one");
    assertEquals(503, checking.status(), "a cut-off node past the grace serves no read: " + checking);
    // the majority side purged the tombstone
    assertTrue(poll(GRACE.plusSeconds(10), () -> http.local(base(0), key).status() == 404 && http.local(base(1), key).status() == 404));
    // cut off for longer than the grace plus the few seconds in-touch times are measured to
    pass(Duration.ofSeconds(4));

    for (TcpProxy p : via) {
      p.heal();
    }
    assertTrue(poll(Duration.ofSeconds(15), () -> {
      Response r = http.get(base(2) + "/cluster");
      return r.status() == 200 && "stale".equals(r.json().getString("standing"));
    }), "the isolated node must find itself stale when the link heals: " + http.get(base(2) + "/ready"));
    assertSeenDownAsStale(0, 2);
    assertSeenDownAsStale(1, 2);
    assertStale(2);
    assertServesNothing(2, key);
    for (int i = 0; i < 2; i++) {
      for (String level : new String[] {"one", "quorum"}) {
        Response r = http.read(base(i), key, level);
        assertEquals(404, r.status(), "r=" + level + " via node " + i + " after the partition healed: " + r);
      }
      assertEquals(404, http.local(base(i), key).status(), "node " + i + " got the deleted value back");
    }
    // stale is durable: a restart does not launder it
    cluster.kill9(2);
    cluster.restart(2);
    assertStale(2);
    System.out.printf("partition: node 2 stopped serving %d ms after the cut (grace %d ms), stale once healed%n",
        staleAfter, GRACE.toMillis());
  }

  @Test
  void nodeRestartedOnAnEmptyDiskAnswersNoReadFromItUntilRebuilt() throws IOException {
    // A slow repair rate keeps the rebuild long enough to read through the node while it runs.
    start(env(IDLE_GRACE), Map.of("REPAIR_RATE", "100"));
    int keys = 300;
    for (int k = 0; k < keys; k++) {
      Response w = http.set(base(k % 3), "empty-" + k, "{\"k\":" + k + "}", "all");
      assertEquals(200, w.status(), w.toString());
    }
    cluster.kill9(1);
    wipe(cluster.node(1).dataDir());
    long t0 = System.nanoTime();
    cluster.node(1).restart(ProcessCluster.START_TIMEOUT);
    Response[] seen = new Response[1];
    poll(Duration.ofSeconds(5), () -> !"starting".equals((seen[0] = http.get(base(1) + "/ready")).json().getString("reason")));
    Response first = seen[0];
    assertEquals(503, first.status(), "an empty node is not ready at once: " + first);
    assertTrue(first.json().getString("reason", "").contains("rebuilding"), first.toString());

    int notFound = 0;
    int answered = 0;
    int readsWhileRebuilding = 0;
    List<String> wrong = new ArrayList<>();
    for (int k = 0; k < keys; k++) {
      boolean rebuilding = http.get(base(1) + "/ready").status() == 503;
      Response r = http.read(base(1), "empty-" + k, "one");
      readsWhileRebuilding += rebuilding ? 1 : 0;
      if (r.status() == 404) {
        notFound++;
        wrong.add("empty-" + k + ": " + r);
      } else if (r.status() == 200) {
        answered++;
        assertEquals(new JsonObject().put("k", k), r.json().getJsonObject("value"), r.toString());
      } else {
        wrong.add("empty-" + k + ": " + r);
      }
    }
    long readMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    cluster.awaitReady(1, Duration.ofSeconds(60));
    long readyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    System.out.printf("empty disk: %d r=one reads via the rebuilding node (%d while not ready): %d answered, %d 404; "
        + "ready %d ms after the restart began%n", keys, readsWhileRebuilding, answered, notFound, readyMs);
    assertEquals(0, notFound, "r=one answered 404 from the empty node: " + wrong);
    assertEquals(keys, answered, "every r=one read through the rebuilding node is answered: " + wrong);
    assertNotEquals(0, readsWhileRebuilding, "the reads must have run while the node rebuilt (" + readMs + " ms)");
    for (int k = 0; k < keys; k += 10) {
      Response local = http.local(base(1), "empty-" + k);
      if (local.status() != 200) {
        fail("the rebuilt node lacks empty-" + k + ": " + local);
      }
    }
  }
}
