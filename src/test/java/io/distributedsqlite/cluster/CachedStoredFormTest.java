package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The record cache holds what SQLite stored (compact JSON), not the text a client sent: a key
 * cached as absent and then written with spaced-out JSON reads back compact from the coordinator,
 * exactly as from a replica that never cached it.
 */
class CachedStoredFormTest {
  private static final ClusterHttp http = new ClusterHttp();

  @TempDir
  Path dir;

  @Test
  void aCachedKeyReadsBackInTheStoredFormOnEveryReplica() {
    try (TestCluster c = TestCluster.start(2, 2, dir)) {
      http.awaitAllUp(List.of(c.baseUrl(0), c.baseUrl(1)), Duration.ofSeconds(20));
      String[][] cases = {
          {"spaced-object", "{ \"a\" :   1 }", "{\"a\":1}"},
          {"spaced-array", "[ 1 ,\n 2.50 ,\t\"x y\" ]", "[1,2.50,\"x y\"]"},
          {"compact-string-with-space", "\"a b\"", "\"a b\""},
      };
      for (String[] t : cases) {
        String key = t[0];
        assertEquals(404, http.read(c.baseUrl(0), key, "one").status(), "cached as absent on node 0");
        assertEquals(404, http.local(c.baseUrl(0), key).status());
        Response set = http.post(c.baseUrl(0) + "/set?w=all", "{\"key\":\"" + key + "\",\"value\":" + t[1] + "}");
        assertEquals(200, set.status(), set::toString);
        for (int node = 0; node < 2; node++) {
          for (int round = 0; round < 2; round++) { // the second read is a cache hit on every node
            String body = http.read(c.baseUrl(node), key, "one").body();
            assertTrue(body.contains("\"value\":" + t[2] + ","), "node " + node + " /get of " + key + ": " + body);
            String local = http.local(c.baseUrl(node), key).body();
            assertTrue(local.contains("\"value\":" + t[2] + ","), "node " + node + " /internal/get of " + key + ": " + local);
          }
        }
      }
    }
  }
}
