package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node joins a running cluster of 3 (RF=3) and is decommissioned again, in one JVM: keys
 * written before and during the join are read back at quorum through every node, deletes made
 * during the join stay deleted, the joined node holds the keys it replicates, and after cleanup
 * every key is on exactly RF nodes, before and after the decommission.
 */
class MembershipChangeTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private final ClusterHttp http = new ClusterHttp();

  @TempDir
  Path dir;

  @Test
  void aNodeJoinsAndLeavesWithoutLosingOrResurrectingKeys() {
    try (TestCluster c = TestCluster.startWithSpares(3, 1, 3, dir, Map.of("STREAM_RATE", "100000"))) {
      Map<String, String> expected = new LinkedHashMap<>();
      for (int i = 0; i < 300; i++) {
        String key = "before-" + i;
        assertEquals(200, http.set(c.baseUrl(i % 3), key, "{\"n\":" + i + "}", "quorum").status());
        expected.put(key, "{\"n\":" + i + "}");
      }
      for (int i = 0; i < 300; i += 10) {
        assertEquals(200, http.remove(c.baseUrl(0), "before-" + i, "quorum").status());
        expected.put("before-" + i, null);
      }

      c.startNode(3);
      // While node 3 joins: overwrite, delete and write new keys at quorum.
      for (int i = 1; i < 300; i += 10) {
        assertEquals(200, http.remove(c.baseUrl(1), "before-" + i, "quorum").status(), "delete during the join");
        expected.put("before-" + i, null);
      }
      for (int i = 0; i < 100; i++) {
        String key = "during-" + i;
        assertEquals(200, http.set(c.baseUrl(i % 3), key, "{\"d\":" + i + "}", "quorum").status());
        expected.put(key, "{\"d\":" + i + "}");
      }

      awaitView(c, List.of(0, 1, 2, 3), 4, "normal");
      c.awaitReady(3, DEADLINE);
      assertOlderViewRefused(c);
      assertReadable(c, List.of(0, 1, 2, 3), expected);
      CurrentView v3 = c.node(3).services().view();
      int held = 0;
      for (String key : expected.keySet()) {
        if (expected.get(key) != null && v3.placement().isReplica(key, 3)) {
          assertEquals(200, http.local(c.baseUrl(3), key).status(), "node 3 streamed " + key);
          held++;
        }
      }
      assertTrue(held > 50, "node 3 replicates a share of the keys: " + held);

      cleanup(c, List.of(0, 1, 2, 3));
      assertCopies(c, List.of(0, 1, 2, 3), expected, 3);

      ClusterHttp.Response left = http.post(c.baseUrl(3) + "/admin/decommission?wait=60s", "");
      assertEquals(200, left.status(), left.toString());
      assertEquals("left", left.json().getString("state"));
      awaitView(c, List.of(0, 1, 2), 3, "normal");
      c.stopNode(3);
      assertReadable(c, List.of(0, 1, 2), expected);
      cleanup(c, List.of(0, 1, 2));
      assertCopies(c, List.of(0, 1, 2), expected, 3);
    }
  }

  /**
   * The writes are made while node 3 is seen joining (its streaming paced to 300 records/s; the pace
   * applies between pages of 1,000 scanned records, hence more keys than a page), so
   * they meet the streamed copies on node 3: older values must not win over a delete or an
   * overwrite, on node 3 or on any node after cleanup.
   */
  @Test
  void deletesAndOverwritesMadeWhileTheNodeIsStillJoiningWinOverTheStreamedCopies() throws Exception {
    try (TestCluster c = TestCluster.startWithSpares(3, 1, 3, dir, Map.of())) {
      int keys = 1500;
      Map<String, String> expected = new LinkedHashMap<>();
      for (int from = 0; from < keys; from += 750) {
        io.vertx.core.json.JsonArray ops = new io.vertx.core.json.JsonArray();
        for (int i = from; i < from + 750; i++) {
          ops.add(new JsonObject().put("op", "set").put("key", "slow-" + i).put("value", new JsonObject().put("v", 0)));
          expected.put("slow-" + i, "{\"v\":0}");
        }
        ClusterHttp.Response batch = new ClusterHttp(DEADLINE).post(c.baseUrl(0) + "/batch?w=all", new JsonObject().put("ops", ops).encode());
        assertEquals(200, batch.status(), batch::toString);
      }
      c.setNodeEnv(3, Map.of("JOIN", "true", "STREAM_RATE", "300"));
      c.startNode(3);
      Await.until(() -> "node 0 sees node 3 joining: " + http.get(c.baseUrl(0) + "/cluster").body(), DEADLINE,
          () -> joining(c, 0, 3));
      for (int i = 0; i < keys; i += 10) {
        ClusterHttp.Response d = http.remove(c.baseUrl(i % 3), "slow-" + i, "quorum");
        assertEquals(200, d.status(), () -> "delete during the join: " + d + views(c));
        expected.put("slow-" + i, null);
        ClusterHttp.Response w = http.set(c.baseUrl((i + 1) % 3), "slow-" + (i + 1), "{\"v\":1}", "quorum");
        assertEquals(200, w.status(), () -> "overwrite during the join: " + w + views(c));
        expected.put("slow-" + (i + 1), "{\"v\":1}");
      }
      assertTrue(joining(c, 0, 3), "node 3 was still joining after the writes (else raise keys or lower STREAM_RATE)");

      awaitView(c, List.of(0, 1, 2, 3), 4, "normal");
      c.awaitReady(3, DEADLINE);
      // The keys written during the join, and as many left as they were.
      Map<String, String> checked = new LinkedHashMap<>();
      for (int i = 0; i < keys; i += 10) {
        for (int k : new int[] {i, i + 1, i + 5}) {
          checked.put("slow-" + k, expected.get("slow-" + k));
        }
      }
      assertReadable(c, List.of(3, 0, 1, 2), checked);
      for (Map.Entry<String, String> e : checked.entrySet()) {
        ClusterHttp.Response local = http.local(c.baseUrl(3), e.getKey());
        if (e.getValue() == null) {
          assertTrue(local.status() == 404 || local.json().getBoolean("tombstone"), "node 3 holds a deleted value: " + local);
        } else if (local.status() == 200) {
          assertEquals(new JsonObject(e.getValue()), local.json().getJsonObject("value"), "node 3's copy of " + e.getKey());
        }
      }
      cleanup(c, List.of(0, 1, 2, 3));
      assertReadable(c, List.of(0, 1, 2, 3), checked);
      assertCopies(c, List.of(0, 1, 2, 3), checked, 3);
    }
  }

  @Test
  void aJoinIsAbandonedThroughAnyNodeAndTheJoiningNodeServesNothing() {
    try (TestCluster c = TestCluster.startWithSpares(3, 1, 3, dir, Map.of())) {
      Map<String, String> expected = preload(c, "abandon-", 1500);
      c.setNodeEnv(3, Map.of("STREAM_RATE", "300"));
      c.startNode(3);
      Await.until(() -> "node 0 sees node 3 joining: " + http.get(c.baseUrl(0) + "/cluster").body(), DEADLINE,
          () -> joining(c, 0, 3));
      ClusterHttp.Response left = new ClusterHttp(DEADLINE).post(c.baseUrl(1) + "/admin/decommission?node=3&wait=30s", "");
      assertEquals(200, left.status(), left::toString);
      assertEquals("left", left.json().getString("state"));
      awaitView(c, List.of(0, 1, 2), 3, "normal");
      assertEquals(503, http.get(c.baseUrl(3) + "/ready").status(), "a node whose join was abandoned is not ready");
      assertReadable(c, List.of(0, 1, 2), expected);
    }
  }

  @Test
  void aNewVolumeForAnOrdinalThatLeftJoinsAgainWithoutJoin() throws Exception {
    try (TestCluster c = TestCluster.start(4, 3, dir)) {
      Map<String, String> expected = preload(c, "again-", 300);
      ClusterHttp.Response left = new ClusterHttp(DEADLINE).post(c.baseUrl(3) + "/admin/decommission?wait=30s", "");
      assertEquals(200, left.status(), left::toString);
      c.stopNode(3);
      try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(c.dataDir(3))) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
      // Ordinal 3 < CLUSTER_SIZE=4 and no JOIN: the cluster's view says it left, so it joins again.
      c.startNode(3);
      awaitView(c, List.of(0, 1, 2, 3), 4, "normal");
      c.awaitReady(3, DEADLINE);
      assertReadable(c, List.of(3, 0, 1, 2), expected);
    }
  }

  /** {@code count} keys written at w=all through /batch, as {@code prefix<i>} -> {"v":i}. */
  private Map<String, String> preload(TestCluster c, String prefix, int count) {
    Map<String, String> expected = new LinkedHashMap<>();
    for (int from = 0; from < count; from += 750) {
      io.vertx.core.json.JsonArray ops = new io.vertx.core.json.JsonArray();
      for (int i = from; i < Math.min(count, from + 750); i++) {
        ops.add(new JsonObject().put("op", "set").put("key", prefix + i).put("value", new JsonObject().put("v", i)));
        expected.put(prefix + i, "{\"v\":" + i + "}");
      }
      ClusterHttp.Response batch = new ClusterHttp(DEADLINE).post(c.baseUrl(0) + "/batch?w=all", new JsonObject().put("ops", ops).encode());
      assertEquals(200, batch.status(), batch::toString);
    }
    return expected;
  }

  private String views(TestCluster c) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 4; i++) {
      ClusterHttp.Response r = http.get(c.baseUrl(i) + "/cluster");
      sb.append("\nnode ").append(i).append(": ").append(r.status() == 200 ? r.json().getJsonObject("view").encode() : r.toString());
    }
    return sb.toString();
  }

  private boolean joining(TestCluster c, int observer, int node) {
    ClusterHttp.Response r = http.get(c.baseUrl(observer) + "/cluster");
    if (r.status() != 200) {
      return false;
    }
    for (Object o : r.json().getJsonObject("view").getJsonArray("members")) {
      JsonObject m = (JsonObject) o;
      if (m.getInteger("id") == node) {
        return "joining".equals(m.getString("state"));
      }
    }
    return false;
  }

  @Test
  void decommissionIsRefusedWhenFewerThanRfNormalMembersWouldRemain() {
    try (TestCluster c = TestCluster.start(3, 3, dir)) {
      ClusterHttp.Response r = http.post(c.baseUrl(2) + "/admin/decommission", "");
      assertEquals(409, r.status(), r.toString());
      assertEquals("too_few_members", r.json().getString("error"));
      assertEquals("normal", http.get(c.baseUrl(2) + "/admin/decommission").json().getString("state"));
    }
  }

  /** A node still running the view before the join (epoch 1) is refused, and what it sent changes nothing. */
  private void assertOlderViewRefused(TestCluster c) {
    ViewIdentity first = new MembershipView(1, 3, c.node(0).services().view().view().members().subList(0, 3).stream()
        .map(m -> new MembershipView.Member(m.ordinal(), m.name(), m.address(), MembershipView.State.NORMAL)).toList()).identity();
    String record = "[{\"key\":\"old-view\",\"value\":1,\"version\":\"" + System.currentTimeMillis()
        + ".0.1\",\"tombstone\":false,\"expires_at\":0}]";
    ClusterHttp.Response refused = http.post(c.baseUrl(1) + "/internal/apply", record, ViewIdentity.HEADER, first.header());
    assertEquals(409, refused.status(), refused.toString());
    assertEquals("view_mismatch", refused.json().getString("error"));
    assertEquals(404, http.local(c.baseUrl(1), "old-view").status(), "a refused request changes nothing");
  }

  /** Waits until the given nodes all run one view whose {@code active} non-left members are all {@code state}. */
  private void awaitView(TestCluster c, List<Integer> nodes, int active, String state) {
    boolean settled = Await.poll(DEADLINE, () -> {
      Long epoch = null;
      for (int n : nodes) {
        ClusterHttp.Response r = http.get(c.baseUrl(n) + "/cluster");
        if (r.status() != 200) {
          return false;
        }
        JsonObject view = r.json().getJsonObject("view");
        int count = 0;
        for (Object o : view.getJsonArray("members")) {
          String s = ((JsonObject) o).getString("state");
          if (!"left".equals(s)) {
            if (!state.equals(s)) {
              return false;
            }
            count++;
          }
        }
        if (count != active || (epoch != null && epoch != view.getLong("epoch").longValue())) {
          return false;
        }
        epoch = view.getLong("epoch");
      }
      return true;
    });
    if (!settled) {
      StringBuilder views = new StringBuilder();
      for (int n : nodes) {
        views.append('\n').append(n).append(": ").append(http.get(c.baseUrl(n) + "/cluster").body());
      }
      throw new AssertionError("no settled view of " + active + " members within " + DEADLINE + views);
    }
  }

  private void assertReadable(TestCluster c, List<Integer> nodes, Map<String, String> expected) {
    int i = 0;
    for (Map.Entry<String, String> e : expected.entrySet()) {
      String base = c.baseUrl(nodes.get(i++ % nodes.size()));
      ClusterHttp.Response r = http.read(base, e.getKey(), "quorum");
      if (e.getValue() == null) {
        assertEquals(404, r.status(), e.getKey() + " was deleted: " + r);
      } else {
        assertEquals(200, r.status(), e.getKey() + ": " + r);
        assertEquals(new JsonObject(e.getValue()), r.json().getJsonObject("value"), e.getKey());
      }
    }
  }

  private void cleanup(TestCluster c, List<Integer> nodes) {
    for (int n : nodes) {
      ClusterHttp.Response r = http.post(c.baseUrl(n) + "/admin/cleanup?wait=60s", "");
      assertEquals(200, r.status(), r.toString());
    }
  }

  /** Every live key is held by exactly {@code copies} of {@code nodes}. */
  private void assertCopies(TestCluster c, List<Integer> nodes, Map<String, String> expected, int copies) {
    List<String> wrong = new ArrayList<>();
    for (Map.Entry<String, String> e : expected.entrySet()) {
      if (e.getValue() == null) {
        continue;
      }
      int held = 0;
      for (int n : nodes) {
        held += http.local(c.baseUrl(n), e.getKey()).status() == 200 ? 1 : 0;
      }
      if (held != copies) {
        wrong.add(e.getKey() + " on " + held);
      }
    }
    assertTrue(wrong.isEmpty(), "keys not on exactly " + copies + " nodes: " + wrong);
  }
}
