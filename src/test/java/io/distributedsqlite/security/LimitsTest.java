package io.distributedsqlite.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.distributedsqlite.support.TestCluster;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resource limits a hostile or overloaded client runs into: idle connections are closed, a full
 * write queue answers 503 {@code overloaded} with Retry-After (and nothing acknowledged is lost), a
 * request that does not finish in REQUEST_TIMEOUT gets 503, and oversized headers get 431.
 */
class LimitsTest {
  private static final Wire http = new Wire();

  @Test
  void idleConnectionsAreClosedAfterIdleTimeout(@TempDir Path dir) throws Exception {
    try (TestCluster c = TestCluster.start(1, 1, dir, Map.of("IDLE_TIMEOUT", "1s"))) {
      long partial = closedAfterMillis(c.port(0), "GET /health HT".getBytes(StandardCharsets.US_ASCII));
      long silent = closedAfterMillis(c.port(0), new byte[0]);
      assertTrue(partial >= 500, "closed for idleness, not at once: " + partial + " ms");
      assertTrue(silent >= 500, "closed for idleness, not at once: " + silent + " ms");
      // a connection that keeps talking is not idle: a normal request still works
      assertEquals(200, http.call("GET", c.baseUrl(0) + "/health", null).status());
    }
  }

  /** Connects, sends {@code bytes}, then nothing; returns how long until the server closed (fails after 10 s). */
  private static long closedAfterMillis(int port, byte[] bytes) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 3000);
      long start = System.nanoTime();
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();
      s.setSoTimeout(10_000);
      InputStream in = s.getInputStream();
      byte[] buf = new byte[1024];
      while (true) {
        int n;
        try {
          n = in.read(buf);
        } catch (SocketTimeoutException e) {
          fail("the server kept an idle connection open for 10 s with IDLE_TIMEOUT=1s");
          return -1;
        } catch (SocketException e) {
          n = -1; // reset counts as closed
        }
        if (n < 0) {
          return (System.nanoTime() - start) / 1_000_000;
        }
        if (System.nanoTime() - start > 10_000_000_000L) {
          fail("the server kept sending instead of closing the idle connection");
        }
      }
    }
  }

  @Test
  void aFullWriteQueueAnswers503OverloadedAndLosesNothingAcknowledged(@TempDir Path dir) throws Exception {
    int concurrent = 200;
    try (TestCluster c = TestCluster.start(1, 1, dir, Map.of("WRITE_QUEUE_MAX", "1", "WRITE_BATCH_MAX", "1",
        "SQLITE_SYNCHRONOUS", "NORMAL"))) {
      Vertx vertx = Vertx.vertx();
      try {
        HttpClient client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(c.port(0)),
            new PoolOptions().setHttp1MaxSize(concurrent).setMaxWaitQueueSize(-1));
        record Answer(String key, int status, String retryAfter, String body) {}
        List<Future<Answer>> sent = new ArrayList<>();
        for (int i = 0; i < concurrent; i++) {
          String key = "bp-" + i;
          sent.add(client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/set"))
              .compose(req -> req.send(Buffer.buffer(Wire.setBody(key, "{\"n\":" + key.substring(3) + "}"))))
              .compose(res -> res.body().map(b -> new Answer(key, res.statusCode(), res.getHeader("Retry-After"), b.toString()))));
        }
        Future.join(sent).await(60, TimeUnit.SECONDS);
        TreeMap<Integer, Integer> histogram = new TreeMap<>();
        List<String> acked = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        for (Future<Answer> f : sent) {
          assertTrue(f.succeeded(), () -> "every request is answered: " + f.cause());
          Answer a = f.result();
          histogram.merge(a.status(), 1, Integer::sum);
          if (a.status() == 200) {
            acked.add(a.key());
          } else if (a.status() == 503) {
            assertTrue(a.retryAfter() != null && !a.retryAfter().isBlank(), () -> "Retry-After on " + a);
            JsonObject body = new JsonObject(a.body());
            assertEquals("overloaded", body.getString("error"), a::toString);
            refused.add(a.key());
          } else {
            fail("only 200 or 503 overloaded, got " + a);
          }
        }
        System.out.println("backpressure: " + concurrent + " concurrent /set -> " + histogram);
        assertTrue(!refused.isEmpty(), "WRITE_QUEUE_MAX=1 refuses some of " + concurrent + " concurrent writes: " + histogram);
        for (String key : acked) {
          Wire.Resp r = http.call("GET", c.baseUrl(0) + "/get?key=" + key, null);
          assertEquals(200, r.status(), () -> "acknowledged " + key + " reads back: " + r);
          assertTrue(r.body().contains("\"value\":{\"n\":" + key.substring(3) + "},"), r::toString);
        }
        for (String key : refused) {
          Wire.Resp r = http.call("GET", c.baseUrl(0) + "/internal/get?key=" + key, null);
          assertEquals(404, r.status(), () -> "refused " + key + " was not stored: " + r);
        }
      } finally {
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aRequestWhoseBodyNeverArrivesGets503AfterRequestTimeout(@TempDir Path dir) throws Exception {
    try (TestCluster c = TestCluster.start(1, 1, dir, Map.of("REQUEST_TIMEOUT", "1s"))) {
      byte[] stalled = ("POST /set HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nContent-Length: 100\r\n\r\n"
          + "{\"key\":\"rt-stalled\",\"value\":").getBytes(StandardCharsets.US_ASCII);
      long start = System.nanoTime();
      Wire.Raw r = Wire.rawExchange(c.port(0), stalled, false, 10_000);
      long took = (System.nanoTime() - start) / 1_000_000;
      assertEquals(503, r.status(), () -> "after " + took + " ms: " + r);
      assertTrue(r.isJsonError(), r::toString);
      assertEquals("timeout", new JsonObject(r.body()).getString("error"), r::toString);
      assertTrue(took >= 800, "not before REQUEST_TIMEOUT: " + took + " ms");
      assertEquals(404, http.call("GET", c.baseUrl(0) + "/internal/get?key=rt-stalled", null).status());

      // oversized headers on the same node: 431 with the JSON error shape
      StringBuilder many = new StringBuilder("GET /health HTTP/1.1\r\nHost: x\r\n");
      for (int i = 0; i < 40; i++) {
        many.append("X-Filler-").append(i).append(": ").append("v".repeat(500)).append("\r\n");
      }
      many.append("\r\n");
      Wire.Raw manyHeaders = Wire.rawExchange(c.port(0), many.toString().getBytes(StandardCharsets.US_ASCII), false, 10_000);
      assertEquals(431, manyHeaders.status(), manyHeaders::toString);
      assertTrue(manyHeaders.isJsonError(), manyHeaders::toString);
      Wire.Raw oneBig = Wire.rawExchange(c.port(0), ("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(17 * 1024)
          + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII), false, 10_000);
      assertEquals(431, oneBig.status(), oneBig::toString);
      assertTrue(oneBig.isJsonError(), oneBig::toString);
      // just under the limit is fine
      Wire.Raw under = Wire.rawExchange(c.port(0), ("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(12 * 1024)
          + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII), false, 10_000);
      assertEquals(200, under.status(), under::toString);
    }
  }
}
