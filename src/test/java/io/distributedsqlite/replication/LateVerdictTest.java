package io.distributedsqlite.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.TcpProxy;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica's verdict that reaches a coordinator after it answered must not re-stamp the write.
 * Three nodes, RF 3; node 0 reaches node 2 through a proxy that can hold traffic. A {@code
 * w=quorum} write through node 0 is acknowledged by nodes 0 and 1 while its copy for node 2 is
 * held; a later {@code w=quorum} write of the same key through node 1 lands everywhere; then the
 * held copy reaches node 2, which keeps the later version and says so. Re-stamping the earlier
 * write at that point would overwrite the later acknowledged one on every replica.
 */
class LateVerdictTest {
  @TempDir
  Path dir;
  private TestCluster cluster;
  private TcpProxy toNode2;
  private final ClusterHttp http = new ClusterHttp();

  @AfterEach
  void stop() {
    if (toNode2 != null) {
      toNode2.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aLateSupersededVerdictDoesNotReStampOverALaterAcknowledgedWrite() {
    // A peer timeout well beyond the hold, so the held request is answered rather than hinted.
    cluster = TestCluster.start(3, 3, dir, Map.of("PEER_TIMEOUT", "5s", "ANTI_ENTROPY_INTERVAL", "1h"));
    toNode2 = new TcpProxy(TestCluster.freePort(), cluster.port(2));
    cluster.stopNode(0);
    cluster.setNodeEnv(0, Map.of("PEERS", "0=127.0.0.1:" + cluster.port(0) + ",1=127.0.0.1:" + cluster.port(1)
        + ",2=127.0.0.1:" + toNode2.port()));
    cluster.startNode(0);
    cluster.awaitReady(0, Duration.ofSeconds(30));
    List<String> bases = List.of(cluster.baseUrl(0), cluster.baseUrl(1), cluster.baseUrl(2));
    http.awaitAllUp(bases, Duration.ofSeconds(10));

    toNode2.stall();
    Response first;
    Response second;
    try {
      first = http.set(cluster.baseUrl(0), "k", "\"first\"", "quorum");
      assertEquals(200, first.status(), first::toString);
      second = http.set(cluster.baseUrl(1), "k", "\"second\"", "quorum");
      assertEquals(200, second.status(), second::toString);
    } finally {
      toNode2.resume();
    }
    String secondVersion = second.json().getString("version");

    // Node 0 now hears from node 2 that it keeps a newer version. Watch every replica for a while:
    // a re-stamp of the first write would replace the second one within milliseconds.
    boolean overwritten = Await.poll(Duration.ofSeconds(2), () -> {
      for (String base : bases) {
        Response local = http.local(base, "k");
        if (local.status() == 200 && "first".equals(local.json().getValue("value"))
            && !first.json().getString("version").equals(local.json().getString("version"))) {
          return true;
        }
      }
      return false;
    });
    assertFalse(overwritten, "the first write was re-stamped over the later acknowledged one");
    for (String base : bases) {
      Response read = http.read(base, "k", "all");
      assertEquals(200, read.status(), read::toString);
      assertEquals("second", read.json().getValue("value"), base + ": " + read);
      assertEquals(secondVersion, read.json().getString("version"), base + ": " + read);
    }
    JsonObject consistency = second.json().getJsonObject("consistency");
    assertEquals(0, consistency.getInteger("restamped", 0), "the later write had seen the earlier one: " + second);
  }
}
