package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hint older than HINT_WINDOW never reaches its replica: when the replica comes back, the
 * coordinator drops such hints before it replays the rest (HINT_WINDOW is shorter than
 * TOMBSTONE_GRACE, so no hint can carry a value whose delete was purged meanwhile).
 */
class HintWindowTest {
  private static final Pattern REPLAYED = Pattern.compile("(?m)^dsqlite_hints_replayed_total\\{[^}]*} ([0-9.E]+)$");
  private final ClusterHttp http = new ClusterHttp();

  @Test
  void hintsOlderThanTheWindowAreDroppedBeforeTheReplayAndYoungerOnesAreReplayed(@TempDir Path dir) {
    Map<String, String> env = Map.of("HINT_WINDOW", "2s", "ANTI_ENTROPY_INTERVAL", "1h", "PROBE_FAILURES", "5");
    try (TestCluster c = TestCluster.start(3, 3, dir, env)) {
      http.awaitAllUp(java.util.List.of(c.baseUrl(0), c.baseUrl(1), c.baseUrl(2)), Duration.ofSeconds(20));
      c.stopNode(2);
      assertTrue(Await.poll(Duration.ofSeconds(10), () -> "down".equals(
          io.distributedsqlite.support.ProcessCluster.peerState(http, c.baseUrl(0), 2))), "node 0 must see node 2 down");
      assertEquals(200, http.set(c.baseUrl(0), "old", "1", "quorum").status());
      assertTrue(Await.poll(Duration.ofSeconds(5), () -> hintsPending(c, 2) == 1), "a hint for node 2 is kept");
      Await.elapse(Duration.ofMillis(2_500)); // the first hint leaves the window
      assertEquals(200, http.set(c.baseUrl(0), "new", "2", "quorum").status());
      assertTrue(Await.poll(Duration.ofSeconds(5), () -> hintsPending(c, 2) == 2), "a second hint is kept");

      c.startNode(2);
      assertTrue(Await.poll(Duration.ofSeconds(20), () -> hintsPending(c, 2) == 0), "node 0's hints for node 2 are settled");
      assertEquals(1.0, replayed(c), "only the hint inside the window was replayed");
    }
  }

  private long hintsPending(TestCluster c, int peer) {
    JsonObject view = http.get(c.baseUrl(0) + "/cluster").json();
    return view.getJsonArray("nodes").getJsonObject(peer).getLong("hints_pending");
  }

  private double replayed(TestCluster c) {
    String metrics = http.get(c.baseUrl(0) + "/metrics").body();
    Matcher m = REPLAYED.matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }
}
