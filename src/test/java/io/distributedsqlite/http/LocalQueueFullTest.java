package io.distributedsqlite.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A write the coordinator cannot even queue for this node's storage worker (WRITE_QUEUE_MAX
 * reached) is answered 503 {@code overloaded}, like a refusal of the worker itself. A /batch
 * queues all its ops before any leaves, so with WRITE_QUEUE_MAX=1 exactly the first op fits.
 */
class LocalQueueFullTest {
  private final ClusterHttp http = new ClusterHttp();

  @Test
  void batchOpsBeyondTheLocalWriteQueueAreRefusedOverloaded(@TempDir Path dir) {
    try (TestCluster c = TestCluster.start(1, 1, dir, Map.of("WRITE_QUEUE_MAX", "1"))) {
      JsonArray ops = new JsonArray();
      for (int i = 0; i < 3; i++) {
        ops.add(new JsonObject().put("op", "set").put("key", "q" + i).put("value", i));
      }
      ClusterHttp.Response r = http.post(c.baseUrl(0) + "/batch?w=one", new JsonObject().put("ops", ops).encode());
      assertEquals(207, r.status(), r::toString);
      JsonArray results = r.json().getJsonArray("results");
      assertEquals("success", results.getJsonObject(0).getString("status"), r::toString);
      for (int i = 1; i < 3; i++) {
        JsonObject op = results.getJsonObject(i);
        assertEquals("failed", op.getString("status"), r::toString);
        assertEquals("overloaded", op.getString("error"), r::toString);
        assertEquals("the write queue is full; retry shortly", op.getString("message"), r::toString);
        assertEquals(0, op.getInteger("acked"), r::toString);
        assertEquals(404, http.local(c.baseUrl(0), "q" + i).status(), "a refused op is not stored");
      }
      assertEquals(200, http.local(c.baseUrl(0), "q0").status());
    }
  }
}
