package io.distributedsqlite.cluster;

import static io.distributedsqlite.support.Await.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Nodes whose membership views disagree do not coordinate: 3 nodes at RF=3 where node 2 is
 * restarted with another REPLICATION_FACTOR, or another CLUSTER_SIZE and PEERS. Its peers show it
 * down with what differs and coordinate writes without it, it shows them down, internal requests
 * carrying its view are refused, and everyone is up again once it runs with the right settings.
 * The view is stored in each node's database and survives restarts.
 */
class MembershipAgreementTest {
  private static final Duration DEADLINE = Duration.ofSeconds(20);
  private final ClusterHttp http = new ClusterHttp();

  @TempDir
  Path dir;

  @ParameterizedTest(name = "node 2 restarted with {0}")
  @ValueSource(strings = {"REPLICATION_FACTOR=2", "CLUSTER_SIZE=4"})
  void aNodeRestartedWithOtherSettingsIsKeptApartUntilTheyMatchAgain(String change) throws Exception {
    try (TestCluster c = TestCluster.start(3, 3, dir)) {
      http.awaitAllUp(c.baseUrls(), DEADLINE);
      JsonObject before = view(c, 2);
      c.stopNode(2);
      String theirs;
      String mine;
      if (change.startsWith("REPLICATION_FACTOR")) {
        c.setNodeEnv(2, Map.of("REPLICATION_FACTOR", "2"));
        theirs = "membership differs: peer has RF=2 and 3 members at epoch 1; this node RF=3 and 3 members at epoch 1";
        mine = "membership differs: peer has RF=3 and 3 members at epoch 1; this node RF=2 and 3 members at epoch 1";
      } else {
        c.setNodeEnv(2, Map.of("CLUSTER_SIZE", "4", "PEERS", c.env(2).get("PEERS") + ",3=127.0.0.1:" + TestCluster.freePort()));
        theirs = "membership differs: peer has RF=3 and 4 members at epoch 1; this node RF=3 and 3 members at epoch 1";
        mine = "membership differs: peer has RF=3 and 3 members at epoch 1; this node RF=3 and 4 members at epoch 1";
      }
      c.startNode(2);

      // Nodes 0 and 1 show node 2 down with what differs, and count it.
      for (int i : new int[] {0, 1}) {
        int node = i;
        assertTrue(poll(DEADLINE, () -> theirs.equals(downReason(c, node, 2))), () -> "node " + node + ": " + cluster(c, node));
        assertEquals(1, view(c, node).getInteger("disagreeing_peers"));
        assertTrue(http.get(c.baseUrl(node) + "/metrics").body().lines()
            .anyMatch(l -> l.startsWith("dsqlite_peers_disagreeing") && l.endsWith(" 1.0")), "metric on node " + node);
      }
      // Node 2 shows them down, and says its stored view contradicts its settings.
      for (int i : new int[] {0, 1}) {
        int node = i;
        assertTrue(poll(DEADLINE, () -> mine.equals(downReason(c, 2, node))), () -> "node 2: " + cluster(c, 2));
      }
      JsonObject view2 = view(c, 2);
      assertNotNull(view2.getString("problem"), view2::encode);
      Response ready = http.get(c.baseUrl(2) + "/ready");
      assertEquals(503, ready.status());
      assertTrue(ready.json().getString("reason").startsWith("membership: the membership view stored in node.db"), ready::toString);

      // Writes are coordinated without node 2: all cannot be met, quorum can, node 2 holds nothing.
      assertEquals(503, http.set(c.baseUrl(0), "mv-all", "{\"a\":1}", "all").status());
      assertEquals(200, http.set(c.baseUrl(0), "mv-quorum", "{\"a\":2}", "quorum").status());
      assertEquals(200, http.local(c.baseUrl(1), "mv-quorum").status());
      assertEquals(404, http.local(c.baseUrl(2), "mv-all").status());
      assertEquals(404, http.local(c.baseUrl(2), "mv-quorum").status());
      // Node 2 cannot reach a quorum either.
      assertEquals(503, http.set(c.baseUrl(2), "mv-from-2", "1", "quorum").status());

      // Internal requests carrying node 2's view are refused and change nothing; the probe answers.
      String header2 = c.node(2).services().view().identity().header();
      Response refused = http.post(c.baseUrl(0) + "/internal/apply", applyBody("mv-refused"), ViewIdentity.HEADER, header2);
      assertEquals(409, refused.status(), refused::toString);
      assertEquals("view_mismatch", refused.json().getString("error"));
      assertTrue(refused.json().getString("message").startsWith(theirs.replace("peer has", "sender has")), refused::toString);
      assertEquals(404, http.local(c.baseUrl(0), "mv-refused").status());
      Response ping = http.get(c.baseUrl(0) + "/internal/ping");
      assertEquals(200, ping.status());
      assertEquals(view(c, 0).getString("fingerprint"), ping.json().getJsonObject("view").getString("fingerprint"));
      // Without the header (the original's tools), or with the same view, requests are taken as before.
      assertEquals(200, http.post(c.baseUrl(0) + "/internal/apply", applyBody("mv-plain")).status());
      assertEquals(200, http.local(c.baseUrl(0), "mv-plain").status());
      String header0 = c.node(0).services().view().identity().header();
      assertEquals(200, http.post(c.baseUrl(0) + "/internal/apply", applyBody("mv-same"), ViewIdentity.HEADER, header0).status());
      ClusterHttp.Response malformed = http.post(c.baseUrl(0) + "/internal/apply", applyBody("mv-bad"), ViewIdentity.HEADER, "nonsense");
      assertEquals(409, malformed.status(), "not 400, which a sender reads as a bad record: " + malformed);
      assertEquals("invalid_view", malformed.json().getString("error"));
      assertEquals(404, http.local(c.baseUrl(0), "mv-bad").status());

      // The stored view was reported, not replaced.
      c.stopNode(2);
      assertEquals(before.getString("fingerprint"), storedView(c, 2).fingerprint());

      // Back with the right settings: everyone up, node 2 ready with the view it had.
      c.setNodeEnv(2, Map.of());
      c.startNode(2);
      c.awaitReady(2, DEADLINE);
      http.awaitAllUp(c.baseUrls(), DEADLINE);
      assertEquals(before.getString("fingerprint"), view(c, 2).getString("fingerprint"));
      assertEquals(0, view(c, 0).getInteger("disagreeing_peers"));
      assertEquals(null, downReason(c, 0, 2));
    }
  }

  @Test
  void theViewIsStoredAndSurvivesARestart() throws Exception {
    try (TestCluster c = TestCluster.start(3, 2, dir)) {
      http.awaitAllUp(c.baseUrls(), DEADLINE);
      JsonObject before = view(c, 1);
      assertEquals(1L, before.getLong("epoch"));
      assertEquals(2, before.getInteger("rf"));
      assertEquals(List.of("normal", "normal", "normal"), states(before));
      assertEquals(List.of("0", "1", "2"), names(before));
      c.stopNode(1);
      MembershipView stored = storedView(c, 1);
      assertEquals(before.getString("fingerprint"), stored.fingerprint());
      assertEquals(c.baseUrl(2).substring("http://".length()), stored.members().get(2).address());
      c.startNode(1);
      c.awaitReady(1, DEADLINE);
      JsonObject after = view(c, 1);
      assertEquals(before.getString("fingerprint"), after.getString("fingerprint"));
      assertEquals(before.getJsonArray("members"), after.getJsonArray("members"));
      assertEquals(false, after.getBoolean("behind"));
      assertEquals(null, after.getString("problem"));
    }
  }

  @Test
  void everyNodeRestartedWithNewSettingsStoresTheNewViewOnceAMajorityRunsWithIt() throws Exception {
    try (TestCluster c = TestCluster.start(3, 3, dir)) {
      http.awaitAllUp(c.baseUrls(), DEADLINE);
      for (int i = 0; i < 3; i++) {
        c.stopNode(i);
        c.setNodeEnv(i, Map.of("REPLICATION_FACTOR", "2"));
      }
      for (int i = 0; i < 3; i++) {
        c.startNode(i);
      }
      for (int i = 0; i < 3; i++) {
        c.awaitReady(i, DEADLINE);
      }
      http.awaitAllUp(c.baseUrls(), DEADLINE);
      for (int i = 0; i < 3; i++) {
        assertEquals(2, view(c, i).getInteger("rf"));
        assertEquals(null, view(c, i).getString("problem"));
      }
      c.stopNode(0);
      assertEquals(2, storedView(c, 0).replicationFactor());
    }
  }

  private static String applyBody(String key) {
    return "[{\"key\":\"" + key + "\",\"value\":1,\"version\":\"" + System.currentTimeMillis() + ".0.2\",\"tombstone\":false,\"expires_at\":0}]";
  }

  private JsonObject cluster(TestCluster c, int node) {
    Response r = http.get(c.baseUrl(node) + "/cluster");
    return r.status() == 200 ? r.json() : new JsonObject().put("status", r.status());
  }

  private JsonObject view(TestCluster c, int node) {
    return cluster(c, node).getJsonObject("view");
  }

  /** The down_reason node {@code node} shows for {@code peer}, null while it is up. */
  private String downReason(TestCluster c, int node, int peer) {
    JsonObject cl = cluster(c, node);
    if (cl.getJsonArray("nodes") == null) {
      return "no answer";
    }
    for (Object o : cl.getJsonArray("nodes")) {
      JsonObject n = (JsonObject) o;
      if (n.getInteger("id") == peer) {
        return "up".equals(n.getString("state")) ? null : n.getString("down_reason");
      }
    }
    return "absent";
  }

  private static List<String> states(JsonObject view) {
    List<String> out = new ArrayList<>();
    view.getJsonArray("members").forEach(m -> out.add(((JsonObject) m).getString("state")));
    return out;
  }

  private static List<String> names(JsonObject view) {
    List<String> out = new ArrayList<>();
    view.getJsonArray("members").forEach(m -> out.add(((JsonObject) m).getString("name")));
    return out;
  }

  /** The view stored in a stopped node's database. */
  private static MembershipView storedView(TestCluster c, int node) throws Exception {
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + c.dataDir(node).resolve("node.db"));
        PreparedStatement ps = conn.prepareStatement("SELECT value FROM meta WHERE name = 'membership_view'");
        ResultSet rs = ps.executeQuery()) {
      assertTrue(rs.next(), "no stored view");
      return MembershipView.fromJson(rs.getString(1));
    }
  }
}
