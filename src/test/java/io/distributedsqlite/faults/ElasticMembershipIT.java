package io.distributedsqlite.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.NodeProcess;
import io.distributedsqlite.support.ProcessCluster;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Elastic membership on real node processes under a client load that checks every read (RF=3).
 * Three nodes form the cluster (CLUSTER_SIZE=3, PEERS listing five ordinals); nodes 3 and 4 are
 * started together and join one after the other; then nodes 4 and 3 are decommissioned and
 * stopped once they have left, and cleanup runs on the three that remain. Throughout, a load of
 * {@code w=quorum} writes, overwrites and deletes and {@code r=quorum} reads ({@link CheckedLoad})
 * runs against the nodes that serve; no read may fail, lose an acknowledged write, answer an older
 * value or bring back a deleted one. After the join (and a cleanup) every preloaded key the load
 * never touched is on exactly 3 of the 5 nodes; at the end every acknowledged live key is on each
 * of the 3 remaining nodes with its acknowledged version, and every acknowledged delete, those made
 * during the join too, is still a delete everywhere. Writes the cluster refused (a client would
 * retry them) are counted and logged with the time and phase, not asserted. Counts and durations go
 * to the test's log (the failsafe output file); node data and logs stay under
 * {@code <build.dir>/it-nodes/<scenario>}.
 */
class ElasticMembershipIT {
  private static final Logger log = LoggerFactory.getLogger(ElasticMembershipIT.class);
  private static final int RF = 3;
  private static final int INITIAL = 3;
  private static final int CAPACITY = 5;
  private static final int PRELOADED = 2000;
  /** Preloaded keys below this index are shared out to the load's writers; the others are only read. */
  private static final int TOUCHABLE = 1000;
  /**
   * Periodic anti-entropy out of the way (its start-up rounds still run), so that what the new
   * replicas hold comes from streaming and the write path, not from repair.
   */
  private static final Map<String, String> ENV = Map.of("PROBE_FAILURES", "5", "ANTI_ENTROPY_INTERVAL", "1h");
  private static final Duration JOIN_TIMEOUT = Duration.ofMinutes(4);
  private static final Duration ADMIN_WAIT = Duration.ofMinutes(2);

  private final ClusterHttp http = new ClusterHttp();
  /** For admin calls that wait up to {@link #ADMIN_WAIT} for their answer. */
  private final ClusterHttp admin = new ClusterHttp(ADMIN_WAIT.plusSeconds(15));
  private Path dir;
  private ProcessCluster cluster;
  private CheckedLoad load;
  private final Map<String, Long> durations = new LinkedHashMap<>();

  @BeforeEach
  void nodeDir(TestInfo info) throws IOException {
    dir = NodeProcess.itDir(info.getTestMethod().orElseThrow().getName());
  }

  @AfterEach
  void stop() {
    if (load != null) {
      load.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void twoNodesJoinAndLeaveUnderLoadWithoutAFailedLostStaleOrResurrectedRead() throws Exception {
    long t = System.nanoTime();
    cluster = ProcessCluster.startGrowable(INITIAL, CAPACITY, RF, dir, ENV);
    List<Integer> initial = List.of(0, 1, 2);
    List<Integer> all = List.of(0, 1, 2, 3, 4);
    awaitSettledView(initial, INITIAL, Duration.ofSeconds(30));
    durations.put("start 3 nodes", ms(t));

    t = System.nanoTime();
    Map<String, String> preloaded = preload();
    Set<String> touchable = new HashSet<>();
    List<String> untouched = new ArrayList<>();
    for (int i = 0; i < PRELOADED; i++) {
      (i < TOUCHABLE ? touchable : untouched).add(key(i));
    }
    durations.put("preload " + PRELOADED + " keys", ms(t));

    load = new CheckedLoad(2, 2, Duration.ofMillis(10), Duration.ofMinutes(12), preloaded, touchable, bases(initial));
    load.phase("3 nodes");
    load.start();
    long loadStart = System.nanoTime();
    Await.until("the load's first 200 acknowledged writes", Duration.ofSeconds(60), () -> load.writesAcked.get() >= 200);

    // Grow: nodes 3 and 4 started together join one after the other.
    t = System.nanoTime();
    load.phase("join");
    cluster.startNodes(3, 4);
    awaitSettledView(all, CAPACITY, JOIN_TIMEOUT);
    cluster.awaitReady(3, Duration.ofSeconds(60));
    cluster.awaitReady(4, Duration.ofSeconds(60));
    durations.put("join of nodes 3 and 4", ms(t));
    load.phase("5 nodes");
    load.serveFrom(bases(all));

    t = System.nanoTime();
    for (int i : all) {
      cleanup(i);
    }
    durations.put("cleanup on 5 nodes", ms(t));
    assertPlacedOnFiveNodes(untouched, preloaded);
    long written = load.writesAcked.get();
    Await.until("200 more acknowledged writes with 5 nodes", Duration.ofSeconds(60), () -> load.writesAcked.get() >= written + 200);

    // Shrink: decommission the highest ordinal first, stop each node once it has left.
    load.phase("leave");
    for (int i : new int[] {4, 3}) {
      t = System.nanoTime();
      load.retire(cluster.baseUrl(i));
      decommission(i);
      cluster.node(i).terminate(Duration.ofSeconds(30));
      durations.put("decommission of node " + i, ms(t));
    }
    t = System.nanoTime();
    awaitSettledView(initial, INITIAL, Duration.ofSeconds(60));
    durations.put("settled view of 3", ms(t));

    load.phase("cleanup");
    t = System.nanoTime();
    for (int i : initial) {
      cleanup(i);
    }
    durations.put("cleanup on 3 nodes", ms(t));
    load.close();
    durations.put("load", ms(loadStart));

    log.info("load: {} writes acknowledged ({} deletes), {} refused; {} reads: {} ok, {} failed, {} lost, {} stale, {} resurrected",
        load.writesAcked.get(), load.deletesAcked.get(), load.writesRefused.get(), load.reads.get(), load.readsOk(),
        load.failed.get(), load.lost.get(), load.stale.get(), load.resurrected.get());
    load.problems.forEach(p -> log.info("load problem: {}", p));

    t = System.nanoTime();
    List<String> wrong = new ArrayList<>();
    int deletedDuringJoin = checkEveryAcknowledgedWriteOnTheRemainingNodes(initial, untouched, wrong);
    durations.put("final checks", ms(t));
    durations.forEach((what, millis) -> log.info("{}: {} ms", what, millis));

    String problems = String.join("\n", load.problems);
    assertEquals(0, load.failed.get(), () -> "failed reads\n" + problems);
    assertEquals(0, load.lost.get(), () -> "lost writes\n" + problems);
    assertEquals(0, load.stale.get(), () -> "stale reads\n" + problems);
    assertEquals(0, load.resurrected.get(), () -> "resurrected deletes\n" + problems);
    assertTrue(load.reads.get() > 0 && load.writesAcked.get() > 0, "the load ran");
    assertTrue(wrong.isEmpty(), () -> wrong.size() + " keys not as acknowledged on the remaining nodes, e.g.\n"
        + String.join("\n", wrong.subList(0, Math.min(10, wrong.size()))));
    assertTrue(deletedDuringJoin > 0, "no delete acknowledged during the join stayed the key's last operation: the join was too short to tell");
  }

  // ------------------------------------------------------------------ phases

  private static String key(int i) {
    return "pre-" + i;
  }

  /**
   * Writes the preloaded keys at w=quorum in batches of 500 (a key whose op failed is written again
   * on its own); answers each key's acknowledged version.
   */
  private Map<String, String> preload() {
    Map<String, String> versions = new LinkedHashMap<>();
    for (int from = 0; from < PRELOADED; from += 500) {
      JsonArray ops = new JsonArray();
      for (int i = from; i < Math.min(PRELOADED, from + 500); i++) {
        ops.add(new JsonObject().put("op", "set").put("key", key(i)).put("value", new JsonObject().put("s", 0)));
      }
      Response r = admin.post(cluster.baseUrl(from / 500 % INITIAL) + "/batch?w=quorum", new JsonObject().put("ops", ops).encode());
      assertTrue(r.status() == 200 || r.status() == 207, "preload batch: " + r);
      for (Object o : r.json().getJsonArray("results")) {
        JsonObject op = (JsonObject) o;
        String key = op.getString("key");
        if ("success".equals(op.getString("status"))) {
          versions.put(key, op.getString("version"));
        } else {
          Response w = http.set(cluster.baseUrl(0), key, "{\"s\":0}", "quorum");
          assertEquals(200, w.status(), "preload of " + key + ": " + w);
          versions.put(key, w.json().getString("version"));
        }
      }
    }
    assertEquals(PRELOADED, versions.size());
    return versions;
  }

  /**
   * {@code POST /admin/decommission?wait=} on node {@code i} (again while another change is still
   * settling), then polls {@code GET /admin/decommission} until the node has left.
   */
  private void decommission(int i) {
    String url = cluster.baseUrl(i) + "/admin/decommission";
    Response[] last = new Response[1];
    Await.until(() -> "node " + i + " accepts its decommission: " + last[0], ADMIN_WAIT, () -> {
      last[0] = admin.post(url + "?wait=" + ADMIN_WAIT.toSeconds() + "s", "");
      return last[0].status() == 200 || last[0].status() == 202;
    });
    Await.until(() -> "node " + i + " has left: " + last[0] + "\n" + cluster.node(i).logTail(20), ADMIN_WAIT, () -> {
      last[0] = http.get(url);
      return last[0].status() == 200 && "left".equals(last[0].json().getString("state"));
    });
  }

  /**
   * {@code POST /admin/cleanup?wait=} on node {@code i}; if it answered before the run finished,
   * polls {@code GET /admin/cleanup} until it shows a run newer than the one before.
   */
  private void cleanup(int i) {
    String url = cluster.baseUrl(i) + "/admin/cleanup";
    Object before = http.get(url).json().getValue("finished_at");
    Response r = admin.post(url + "?wait=" + ADMIN_WAIT.toSeconds() + "s", "");
    assertTrue(r.status() == 200 || r.status() == 202, "cleanup on node " + i + ": " + r);
    if (r.status() == 202) {
      Response[] last = new Response[1];
      Await.until(() -> "cleanup on node " + i + " finished: " + last[0], ADMIN_WAIT, () -> {
        last[0] = http.get(url);
        Object finished = last[0].status() == 200 ? last[0].json().getValue("finished_at") : null;
        return finished != null && !finished.equals(before);
      });
      r = last[0];
    }
    log.info("cleanup on node {}: {}", i, r.body());
  }

  /**
   * Waits until every node in {@code ids} shows the same settled view: the same epoch, {@code n}
   * members that have not left, all normal, no change under way, and every member up.
   */
  private void awaitSettledView(List<Integer> ids, int n, Duration timeout) {
    if (!Await.poll(timeout, () -> settledEpoch(ids, n) != null)) {
      StringBuilder views = new StringBuilder();
      for (int i : ids) {
        views.append("\nnode ").append(i).append(": ").append(http.get(cluster.baseUrl(i) + "/cluster"))
            .append("\n").append(cluster.node(i).logTail(15));
      }
      fail("no settled view of " + n + " members on nodes " + ids + " within " + timeout + views);
    }
  }

  private Long settledEpoch(List<Integer> ids, int n) {
    Long epoch = null;
    for (int i : ids) {
      Response r = http.get(cluster.baseUrl(i) + "/cluster");
      JsonObject body = r.status() == 200 ? r.json() : null;
      JsonObject view = body == null ? null : body.getJsonObject("view");
      if (view == null || view.getValue("change") != null || view.getValue("epoch") == null) {
        return null;
      }
      if (epoch != null && !epoch.equals(view.getLong("epoch"))) {
        return null;
      }
      epoch = view.getLong("epoch");
      Set<Integer> members = new HashSet<>();
      for (Object o : view.getJsonArray("members")) {
        JsonObject m = (JsonObject) o;
        if ("left".equals(m.getString("state"))) {
          continue;
        }
        if (!"normal".equals(m.getString("state"))) {
          return null;
        }
        members.add(m.getInteger("id"));
      }
      if (members.size() != n || !allUp(body.getJsonArray("nodes"), members)) {
        return null;
      }
    }
    return epoch;
  }

  private static boolean allUp(JsonArray nodes, Set<Integer> members) {
    int up = 0;
    for (Object o : nodes) {
      JsonObject node = (JsonObject) o;
      if (members.contains(node.getInteger("id"))) {
        if (!"up".equals(node.getString("state"))) {
          return false;
        }
        up++;
      }
    }
    return up == members.size();
  }

  // ------------------------------------------------------------------ placement

  /**
   * After the join and a cleanup on every node: each untouched preloaded key is held by exactly RF
   * of the 5 nodes, with its preloaded version, and every node holds a share of them (the joined
   * nodes got theirs by streaming, the others gave up what they no longer replicate).
   */
  private void assertPlacedOnFiveNodes(List<String> untouched, Map<String, String> preloaded) throws Exception {
    List<Integer> all = List.of(0, 1, 2, 3, 4);
    Map<String, List<Response>> copies = localRecords(untouched, all);
    int[] held = new int[CAPACITY];
    List<String> wrong = new ArrayList<>();
    for (String key : untouched) {
      List<Response> answers = copies.get(key);
      int n = 0;
      for (int i : all) {
        Response r = answers.get(i);
        if (r.status() == 200) {
          n++;
          held[i]++;
          if (!preloaded.get(key).equals(r.json().getString("version")) || Boolean.TRUE.equals(r.json().getBoolean("tombstone"))) {
            wrong.add(key + " on node " + i + ": " + r);
          }
        } else if (r.status() != 404) {
          wrong.add(key + " on node " + i + ": " + r);
        }
      }
      if (n != RF) {
        wrong.add(key + " on " + n + " nodes: " + answers);
      }
    }
    log.info("untouched keys held per node after the join and cleanup: {}", java.util.Arrays.toString(held));
    assertTrue(wrong.isEmpty(), () -> wrong.size() + " misplaced copies, e.g.\n" + String.join("\n", wrong.subList(0, Math.min(10, wrong.size()))));
    for (int i : all) {
      double share = held[i] / (double) untouched.size();
      assertTrue(share > 0.25 && share < 0.95, "node " + i + " holds " + held[i] + " of " + untouched.size() + " keys");
    }
  }

  /**
   * With nodes 3 and 4 gone: every key whose last operation was acknowledged is, on each remaining
   * node, exactly what was acknowledged (the value with its version, or a delete: a tombstone or
   * nothing), and reads of the deleted keys answer 404. Adds what differs to {@code wrong}; answers
   * how many of the deletes checked were acknowledged during the join.
   */
  private int checkEveryAcknowledgedWriteOnTheRemainingNodes(List<Integer> nodes, List<String> untouched, List<String> wrong)
      throws Exception {
    Map<String, CheckedLoad.Ack> settled = new LinkedHashMap<>();
    int unsettled = 0;
    for (CheckedLoad.Key k : load.keys()) {
      CheckedLoad.Ack a = k.acked;
      if (a != null && a.seq() == k.sent) {
        settled.put(k.name, a);
      } else {
        unsettled++;
      }
    }
    if (!settled.keySet().containsAll(untouched)) {
      wrong.add("an untouched key was written by the load");
    }
    Map<String, List<Response>> copies = localRecords(new ArrayList<>(settled.keySet()), nodes);
    int live = 0;
    int deleted = 0;
    int deletedDuringJoin = 0;
    for (Map.Entry<String, CheckedLoad.Ack> e : settled.entrySet()) {
      CheckedLoad.Ack a = e.getValue();
      List<Response> answers = copies.get(e.getKey());
      if (a.delete()) {
        deleted++;
        deletedDuringJoin += "join".equals(a.phase()) ? 1 : 0;
      } else {
        live++;
      }
      for (int i : nodes) {
        Response r = answers.get(i);
        boolean ok = a.delete()
            ? r.status() == 404 || (r.status() == 200 && Boolean.TRUE.equals(r.json().getBoolean("tombstone")))
            : r.status() == 200 && a.version().equals(r.json().getString("version"))
                && new JsonObject().put("s", a.seq()).equals(r.json().getValue("value"));
        if (!ok) {
          wrong.add(e.getKey() + " acknowledged " + a + ", node " + i + " holds " + r);
        }
      }
      if (a.delete()) {
        int via = nodes.get(deleted % nodes.size());
        Response r = http.read(cluster.baseUrl(via), e.getKey(), "quorum");
        if (r.status() != 404) {
          wrong.add(e.getKey() + " deleted (" + a + ") reads via node " + via + ": " + r);
        }
      }
    }
    log.info("final: {} keys with an acknowledged last operation ({} live, {} deleted of which {} during the join), {} with an unacknowledged last one",
        settled.size(), live, deleted, deletedDuringJoin, unsettled);
    return deletedDuringJoin;
  }

  /** Each node's {@code /internal/get} of each key, as a list indexed by node id (a few keys at a time). */
  private Map<String, List<Response>> localRecords(List<String> keys, List<Integer> nodes) throws Exception {
    Map<String, List<Response>> out = new ConcurrentHashMap<>();
    forEachParallel(keys, key -> {
      List<Response> answers = new ArrayList<>();
      for (int i = 0; i < CAPACITY; i++) {
        answers.add(nodes.contains(i) ? http.local(cluster.baseUrl(i), key) : null);
      }
      out.put(key, answers);
      return null;
    });
    return out;
  }

  // ------------------------------------------------------------------ helpers

  private <T> void forEachParallel(Collection<T> items, Function<T, Void> task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<Void>> done = new ArrayList<>();
      for (T item : items) {
        done.add(pool.submit(() -> task.apply(item)));
      }
      for (Future<Void> f : done) {
        f.get(5, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private List<String> bases(List<Integer> ids) {
    return ids.stream().map(cluster::baseUrl).collect(Collectors.toList());
  }

  private static long ms(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }
}
