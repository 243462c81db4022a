package io.distributedsqlite.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.Version;
import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every endpoint of one real node over real HTTP: success shapes, error shapes, values, TTL, restart, load. */
class NodeApiTest {
  private static final long TIMEOUT_S = 30;

  @TempDir static Path dir;
  private static TestCluster cluster;
  private static Vertx vertx;
  private static WebClient web;

  @BeforeAll
  static void startNode() {
    cluster = TestCluster.start(1, 1, dir);
    vertx = Vertx.vertx();
    web = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1"));
  }

  @AfterAll
  static void stopNode() {
    if (web != null) {
      web.close();
    }
    if (vertx != null) {
      vertx.close().await();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  // ---- helpers ---------------------------------------------------------------------------

  static <T> T await(Future<T> f) {
    try {
      return f.await(TIMEOUT_S, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("request did not complete: " + e, e);
    }
  }

  private static int port() {
    return cluster.port(0);
  }

  static HttpResponse<Buffer> send(WebClient client, int port, HttpMethod method, String path, Map<String, String> query, String body) {
    HttpRequest<Buffer> req = client.request(method, port, "127.0.0.1", path);
    query.forEach(req::addQueryParam);
    return await(body == null ? req.send() : req.sendBuffer(Buffer.buffer(body)));
  }

  private static HttpResponse<Buffer> set(String body) {
    return send(web, port(), HttpMethod.POST, "/set", Map.of(), body);
  }

  private static HttpResponse<Buffer> set(String key, String rawValue) {
    return set("{\"key\":" + new JsonArray().add(key).encode().replaceAll("^\\[|\\]$", "") + ",\"value\":" + rawValue + "}");
  }

  private static HttpResponse<Buffer> get(String key) {
    return send(web, port(), HttpMethod.GET, "/get", Map.of("key", key), null);
  }

  private static HttpResponse<Buffer> internalGet(String key) {
    return send(web, port(), HttpMethod.GET, "/internal/get", Map.of("key", key), null);
  }

  private static HttpResponse<Buffer> delete(String key) {
    return send(web, port(), HttpMethod.DELETE, "/delete", Map.of("key", key), null);
  }

  private static JsonObject json(HttpResponse<Buffer> r, int status) {
    assertEquals(status, r.statusCode(), () -> "status of " + r.bodyAsString());
    String ct = r.getHeader("content-type");
    assertNotNull(ct, "content-type is set");
    assertTrue(ct.startsWith("application/json"), () -> "content-type " + ct);
    return new JsonObject(r.bodyAsString());
  }

  static void assertErrorShape(HttpResponse<Buffer> r, int status) {
    JsonObject body = json(r, status);
    assertTrue(body.getValue("error") instanceof String s && !s.isEmpty(), () -> "error code in " + body);
    assertTrue(body.getValue("message") instanceof String s && !s.isEmpty(), () -> "message in " + body);
  }

  // ---- ops endpoints ---------------------------------------------------------------------

  @Test
  void healthSaysOkWithNodeId() {
    JsonObject body = json(send(web, port(), HttpMethod.GET, "/health", Map.of(), null), 200);
    assertEquals("ok", body.getString("status"));
    assertEquals("0", body.getString("node_id"));
  }

  @Test
  void readyIsTrueOnceStarted() {
    JsonObject body = json(send(web, port(), HttpMethod.GET, "/ready", Map.of(), null), 200);
    assertEquals("ready", body.getString("status"));
    assertEquals("0", body.getString("node_id"));
  }

  @Test
  void metricsExposeRequestAndBatchMeters() {
    json(set("metrics-key", "1"), 200);
    HttpResponse<Buffer> r = send(web, port(), HttpMethod.GET, "/metrics", Map.of(), null);
    assertEquals(200, r.statusCode());
    assertTrue(r.getHeader("content-type").startsWith("text/plain"), r.getHeader("content-type"));
    String text = r.bodyAsString();
    assertTrue(text.contains("dsqlite_http_requests"), "request meter exported");
    assertTrue(text.contains("dsqlite_storage_batch_records"), "group-commit batch meter exported");
  }

  @Test
  void metricsExposeJvmProcessDatabaseAndBuildMeters() {
    json(set("metrics-size-key", "{\"a\":1}"), 200);
    String text = send(web, port(), HttpMethod.GET, "/metrics", Map.of(), null).bodyAsString();
    for (String meter : List.of("jvm_memory_used_bytes{", "jvm_gc_", "jvm_threads_live_threads{", "process_cpu_usage{",
        "process_uptime_seconds{", "process_files_open_files{", "dsqlite_repair_failures_total{",
        "dsqlite_build_info{")) {
      assertTrue(text.contains(meter), meter + " is exported");
    }
    java.util.regex.Matcher size = java.util.regex.Pattern.compile("(?m)^dsqlite_database_bytes\\{[^}]*} (\\S+)$").matcher(text);
    assertTrue(size.find(), "database size exported");
    assertTrue(Double.parseDouble(size.group(1)) > 0, "the database has a size: " + size.group(0));
    assertFalse(text.contains("dsqlite_repair_last_completed_seconds"), "timestamps are named _timestamp_seconds");
  }

  @Test
  void clusterShowsThisNodeUp() {
    JsonObject body = json(send(web, port(), HttpMethod.GET, "/cluster", Map.of(), null), 200);
    assertEquals("0", body.getString("node_id"));
    assertEquals(1, body.getInteger("cluster_size"));
    assertEquals(1, body.getInteger("replication_factor"));
    JsonArray nodes = body.getJsonArray("nodes");
    assertEquals(1, nodes.size());
    JsonObject self = nodes.getJsonObject(0);
    assertEquals(0, self.getInteger("id"));
    assertEquals(true, self.getBoolean("self"));
    assertEquals("up", self.getString("state"));
  }

  // ---- client API shapes -----------------------------------------------------------------

  @Test
  void setGetDeleteAnswerTheOriginalShapes() {
    JsonObject s = json(set("shape-key", "{\"n\":1}"), 200);
    assertEquals("success", s.getString("status"));
    assertEquals("0", s.getString("node_id"));
    assertEquals("shape-key", s.getString("key"));
    Version written = Version.parse(s.getString("version"));

    HttpResponse<Buffer> g = get("shape-key");
    JsonObject gb = json(g, 200);
    assertEquals("shape-key", gb.getString("key"));
    assertEquals(new JsonObject().put("n", 1), gb.getJsonObject("value"));
    assertEquals("0", gb.getString("node_id"));
    assertEquals(written, Version.parse(gb.getString("version")));

    JsonObject ig = json(internalGet("shape-key"), 200);
    assertEquals("shape-key", ig.getString("key"));
    assertEquals(new JsonObject().put("n", 1), ig.getJsonObject("value"));
    assertEquals(written.toString(), ig.getString("version"));
    assertEquals(false, ig.getBoolean("tombstone"));
    assertEquals("0", ig.getString("node_id"));

    JsonObject d = json(delete("shape-key"), 200);
    assertEquals("deleted", d.getString("status"));
    assertEquals("0", d.getString("node_id"));
    assertEquals("shape-key", d.getString("key"));
    assertTrue(Version.parse(d.getString("version")).isNewerThan(written));
  }

  @Test
  void everyEndpointAnswersErrorsAsJson() {
    assertErrorShape(get("never-written"), 404);
    assertEquals("not_found", json(get("never-written"), 404).getString("error"));
    assertErrorShape(send(web, port(), HttpMethod.GET, "/get", Map.of(), null), 400);
    assertErrorShape(send(web, port(), HttpMethod.POST, "/set", Map.of(), "{}"), 400);
    assertErrorShape(send(web, port(), HttpMethod.POST, "/set", Map.of(), "{\"key\":\"x\"}"), 400);
    assertErrorShape(send(web, port(), HttpMethod.DELETE, "/delete", Map.of(), null), 400);
    assertErrorShape(internalGet("never-written"), 404);
    assertErrorShape(send(web, port(), HttpMethod.GET, "/internal/get", Map.of(), null), 400);
    assertErrorShape(send(web, port(), HttpMethod.POST, "/internal/apply", Map.of(), "{}"), 400);
    assertErrorShape(send(web, port(), HttpMethod.POST, "/internal/set", Map.of(), "{\"value\":1}"), 400);
    assertErrorShape(send(web, port(), HttpMethod.DELETE, "/internal/delete", Map.of(), null), 400);
    assertErrorShape(send(web, port(), HttpMethod.GET, "/no/such/route", Map.of(), null), 404);
    assertErrorShape(send(web, port(), HttpMethod.POST, "/health", Map.of(), "{}"), 405);
    assertErrorShape(send(web, port(), HttpMethod.GET, "/set", Map.of(), null), 405);
  }

  @Test
  void internalGetShowsTheTombstoneAfterDelete() {
    Version written = Version.parse(json(set("tomb-key", "\"v\""), 200).getString("version"));
    json(delete("tomb-key"), 200);
    assertErrorShape(get("tomb-key"), 404);
    HttpResponse<Buffer> r = internalGet("tomb-key");
    JsonObject body = json(r, 200);
    assertEquals("tomb-key", body.getString("key"));
    assertEquals(true, body.getBoolean("tombstone"));
    assertTrue(body.containsKey("value") && body.getValue("value") == null, "a tombstone has a null value");
    assertTrue(Version.parse(body.getString("version")).isNewerThan(written));
    assertEquals("0", body.getString("node_id"));
  }

  @Test
  void deleteThenGetIs404AndALaterSetRevivesTheKey() {
    json(set("revive-key", "\"first\""), 200);
    Version deleted = Version.parse(json(delete("revive-key"), 200).getString("version"));
    assertErrorShape(get("revive-key"), 404);
    assertErrorShape(get("revive-key"), 404);
    Version revived = Version.parse(json(set("revive-key", "\"second\""), 200).getString("version"));
    assertTrue(revived.isNewerThan(deleted));
    HttpResponse<Buffer> g = get("revive-key");
    assertEquals(200, g.statusCode());
    assertTrue(g.bodyAsString().contains("\"value\":\"second\","), g.bodyAsString());
    assertEquals(false, json(internalGet("revive-key"), 200).getBoolean("tombstone"));
  }

  @Test
  void deletingAnAbsentKeyIsAcknowledgedAndStaysAbsent() {
    JsonObject d = json(delete("never-there"), 200);
    assertEquals("deleted", d.getString("status"));
    assertErrorShape(get("never-there"), 404);
  }

  // ---- values and keys -------------------------------------------------------------------

  static Stream<Arguments> values() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("{\"a\": [1, 2.50, \"x\"]}", "{\"a\":[1,2.50,\"x\"]}");
    m.put("null", "null");
    m.put("0", "0");
    m.put("42", "42");
    m.put("-7", "-7");
    m.put("3.14159", "3.14159");
    m.put("1.5E+3", "1.5E+3");
    m.put("123456789012345678901234567890", "123456789012345678901234567890");
    m.put("true", "true");
    m.put("false", "false");
    m.put("\"plain string\"", "\"plain string\"");
    m.put("\"\"", "\"\"");
    m.put("\"quote \\\" backslash \\\\ newline \\n tab \\t\"", "\"quote \\\" backslash \\\\ newline \\n tab \\t\"");
    m.put("\"ключ 🔑 日本\"", "\"ключ 🔑 日本\"");
    m.put("\"\\u00e9\\ud83d\\udd11\"", "\"\\u00e9\\ud83d\\udd11\"");
    m.put("[]", "[]");
    m.put("{}", "{}");
    m.put("[ 1 , [ 2 , [ 3 ] ] , { } ]", "[1,[2,[3]],{}]");
    m.put("{ \"z\" : 1 , \"a\" : { \"m\" : [ true , false , null ] } , \"b\" : \"ü\" }",
        "{\"z\":1,\"a\":{\"m\":[true,false,null]},\"b\":\"ü\"}");
    m.put("\n\t{\"nested\":{\"deeper\":{\"deepest\":[{\"k\":\"v\"}]}}}\r\n", "{\"nested\":{\"deeper\":{\"deepest\":[{\"k\":\"v\"}]}}}");
    m.put("[".repeat(100) + "]".repeat(100), "[".repeat(100) + "]".repeat(100));
    List<Arguments> out = new ArrayList<>();
    int i = 0;
    for (Map.Entry<String, String> e : m.entrySet()) {
      out.add(Arguments.of("value-" + i++, e.getKey(), e.getValue()));
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{1} reads back as {2}")
  @MethodSource("values")
  void valuesRoundTripByteForByteInCompactForm(String key, String sent, String compact) {
    json(set("{\"key\":\"" + key + "\",\"value\":" + sent + "}"), 200);
    String got = get(key).bodyAsString();
    assertTrue(got.contains("\"value\":" + compact + ",\"node_id\":\"0\""), () -> "expected raw value " + compact + " in " + got);
    String local = internalGet(key).bodyAsString();
    assertTrue(local.contains("\"value\":" + compact + ",\"version\":"), () -> "expected raw value " + compact + " in " + local);
  }

  @Test
  void unicodeAndSpecialCharacterKeysRoundTrip() {
    List<String> keys = List.of("ключ/🔑", "日本語のキー", "a b&c=d?e#f%g+h;i", "quote\"back\\slash", "tab\tnew\nline",
        "/leading/slash/", "..", "%2F", "\u0001control");
    for (String key : keys) {
      JsonObject s = json(set(key, new JsonObject().put("k", key).encode()), 200);
      assertEquals(key, s.getString("key"));
      JsonObject g = json(get(key), 200);
      assertEquals(key, g.getString("key"), "key echoed back");
      assertEquals(key, g.getJsonObject("value").getString("k"));
      assertEquals(key, json(internalGet(key), 200).getString("key"));
    }
    for (String key : keys) {
      json(delete(key), 200);
      assertErrorShape(get(key), 404);
    }
  }

  @Test
  void keysOfExactly1024Utf8BytesAreAccepted() {
    for (String key : List.of("a".repeat(1024), "€".repeat(341) + "a", "🔑".repeat(256), "é".repeat(512))) {
      json(set(key, "1"), 200);
      assertEquals(key, json(get(key), 200).getString("key"));
    }
  }

  // ---- TTL -------------------------------------------------------------------------------

  @Test
  void aTtlInTheBodyOrTheQueryIsAnsweredAsExpiresAt() {
    // A TTL long enough that the read always comes before it, however loaded the machine.
    long before = System.currentTimeMillis();
    json(set("{\"key\":\"ttl-long-body\",\"value\":\"later gone\",\"ttl\":600}"), 200);
    json(send(web, port(), HttpMethod.POST, "/set", Map.of("ttl", "600"), "{\"key\":\"ttl-long-query\",\"value\":[1]}"), 200);
    for (String key : List.of("ttl-long-body", "ttl-long-query")) {
      JsonObject body = json(get(key), 200);
      long expiresAt = body.getLong("expires_at");
      assertTrue(expiresAt >= before + 600_000 && expiresAt <= System.currentTimeMillis() + 600_000, "expires_at " + expiresAt);
    }
  }

  @Test
  void recordsWithTtlExpire() {
    long before = System.currentTimeMillis();
    json(set("{\"key\":\"ttl-body\",\"value\":\"soon gone\",\"ttl\":2}"), 200);
    json(send(web, port(), HttpMethod.POST, "/set", Map.of("ttl", "2"), "{\"key\":\"ttl-query\",\"value\":[1]}"), 200);
    json(set("ttl-none", "\"stays\""), 200);
    List<String> pending = new ArrayList<>(List.of("ttl-body", "ttl-query"));
    assertTrue(Await.poll(Duration.ofSeconds(15), () -> {
      pending.removeIf(key -> get(key).statusCode() == 404);
      return pending.isEmpty();
    }), () -> "still readable after their TTL: " + pending);
    assertTrue(System.currentTimeMillis() - before >= 2_000, "not expired before its TTL");
    assertErrorShape(get("ttl-body"), 404);
    assertEquals(200, get("ttl-none").statusCode(), "a record without TTL does not expire");
  }

  // ---- durability and load ---------------------------------------------------------------

  @Test
  void restartKeepsEveryAcknowledgedWrite(@TempDir Path restartDir) {
    try (TestCluster own = TestCluster.start(1, 1, restartDir)) {
      int p = own.port(0);
      Map<String, String> acked = new LinkedHashMap<>();
      Version newest = null;
      for (int i = 0; i < 50; i++) {
        String key = "durable-" + i;
        String value = "{\"i\":" + i + ",\"s\":\"v" + i + "\"}";
        JsonObject r = json(send(web, p, HttpMethod.POST, "/set", Map.of(), "{\"key\":\"" + key + "\",\"value\":" + value + "}"), 200);
        acked.put(key, value);
        newest = Version.parse(r.getString("version"));
      }
      json(send(web, p, HttpMethod.DELETE, "/delete", Map.of("key", "durable-0"), null), 200);
      acked.remove("durable-0");

      own.stopNode(0);
      own.startNode(0);

      for (Map.Entry<String, String> e : acked.entrySet()) {
        HttpResponse<Buffer> r = send(web, p, HttpMethod.GET, "/get", Map.of("key", e.getKey()), null);
        assertEquals(200, r.statusCode(), () -> e.getKey() + " lost over restart: " + r.bodyAsString());
        assertTrue(r.bodyAsString().contains("\"value\":" + e.getValue() + ","), r.bodyAsString());
      }
      assertEquals(404, send(web, p, HttpMethod.GET, "/get", Map.of("key", "durable-0"), null).statusCode(),
          "a delete survives restart");
      JsonObject after = json(send(web, p, HttpMethod.POST, "/set", Map.of(), "{\"key\":\"after\",\"value\":1}"), 200);
      assertTrue(Version.parse(after.getString("version")).isNewerThan(newest), "the clock does not go back over a restart");
    }
  }

  @Test
  void thousandConcurrentWritesFromFiftyConnectionsAllSucceed() {
    WebClient pooled = WebClient.create(vertx, new WebClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(50));
    try {
      int n = 1_000;
      List<Future<HttpResponse<Buffer>>> writes = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        String body = "{\"key\":\"load-" + i + "\",\"value\":{\"i\":" + i + ",\"pad\":\"" + "x".repeat(i % 50) + "\"}}";
        writes.add(pooled.post(port(), "127.0.0.1", "/set").sendBuffer(Buffer.buffer(body)));
      }
      await(Future.join(writes));
      List<String> problems = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Future<HttpResponse<Buffer>> f = writes.get(i);
        if (f.failed()) {
          problems.add("load-" + i + ": " + f.cause());
        } else if (f.result().statusCode() != 200 || f.result().bodyAsString().contains("SQLITE_BUSY")) {
          problems.add("load-" + i + ": " + f.result().statusCode() + " " + f.result().bodyAsString());
        }
      }
      assertTrue(problems.isEmpty(), () -> problems.size() + " writes failed, e.g. " + problems.subList(0, Math.min(5, problems.size())));

      List<Future<HttpResponse<Buffer>>> reads = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        reads.add(pooled.get(port(), "127.0.0.1", "/get").addQueryParam("key", "load-" + i).send());
      }
      await(Future.join(reads));
      for (int i = 0; i < n; i++) {
        Future<HttpResponse<Buffer>> f = reads.get(i);
        assertTrue(f.succeeded(), "read " + i + " failed: " + f.cause());
        String expected = "\"value\":{\"i\":" + i + ",\"pad\":\"" + "x".repeat(i % 50) + "\"},";
        assertEquals(200, f.result().statusCode(), f.result().bodyAsString());
        assertTrue(f.result().bodyAsString().contains(expected), f.result().bodyAsString());
      }
    } finally {
      pooled.close();
    }
  }

  @Test
  void writesAreVersionedInTheOrderTheyWereAcknowledged() {
    Version previous = null;
    for (int i = 0; i < 20; i++) {
      Version v = Version.parse(json(set("ordered", Integer.toString(i)), 200).getString("version"));
      if (previous != null) {
        assertTrue(v.isNewerThan(previous));
      }
      previous = v;
    }
    assertTrue(get("ordered").bodyAsString().contains("\"value\":19,"));
    assertNull(json(get("ordered"), 200).getValue("expires_at"), "no expires_at without TTL");
    assertFalse(json(internalGet("ordered"), 200).getBoolean("tombstone"));
  }
}
