package io.distributedsqlite.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sqlite.SQLiteConfig;

/**
 * Malformed requests, table-driven, against one real node started with MAX_VALUE_BYTES=1024.
 * Each must be refused with the right 4xx and the JSON error shape, and none may change data:
 * after sending every one of them, the sentinel keys written at start-up read back unchanged and
 * no other key exists.
 */
class BadInputTest {
  private static final int MAX_VALUE_BYTES = 1024;

  @TempDir static Path dir;
  private static TestCluster cluster;
  private static Vertx vertx;
  private static HttpClient http;

  /** Sentinel key → raw compact value written before the table. */
  private static final Map<String, String> SENTINELS = new LinkedHashMap<>();
  /** Sentinel key → its /internal/get body right after writing (version included). */
  private static final Map<String, String> SENTINEL_RECORDS = new LinkedHashMap<>();

  static {
    SENTINELS.put("sentinel-a", "{\"a\":[1,2.50,\"x\"]}");
    SENTINELS.put("sentinel-b", "\"just text\"");
    SENTINELS.put("sentinel-c", "null");
    SENTINELS.put("sentinel-ключ/🔑", "42");
    SENTINELS.put("sentinel-d", "[true,false,{}]");
  }

  /** Keys that the bad requests below name; none of them may exist afterwards. */
  private static final Set<String> NAMED = new TreeSet<>();

  record Resp(int status, String contentType, String body) {}

  record Case(HttpMethod method, String uri, byte[] body, boolean chunked, int status) {}

  @BeforeAll
  static void startNodeAndWriteSentinels() {
    cluster = TestCluster.start(1, 1, dir, Map.of("MAX_VALUE_BYTES", Integer.toString(MAX_VALUE_BYTES)));
    vertx = Vertx.vertx();
    http = vertx.createHttpClient();
    for (Map.Entry<String, String> e : SENTINELS.entrySet()) {
      String body = new JsonObject().put("key", e.getKey()).encode().replaceAll("}$", "") + ",\"value\":" + e.getValue() + "}";
      Resp r = send(new Case(HttpMethod.POST, "/set", utf8(body), false, 200));
      assertEquals(200, r.status(), r.body());
      Resp local = send(new Case(HttpMethod.GET, "/internal/get?key=" + enc(e.getKey()), null, false, 200));
      assertEquals(200, local.status(), local.body());
      SENTINEL_RECORDS.put(e.getKey(), local.body());
    }
  }

  @AfterAll
  static void stopNode() {
    if (vertx != null) {
      vertx.close().await();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  // ---- the table -------------------------------------------------------------------------

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String enc(String s) {
    return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static byte[] bytes(Object... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Object p : parts) {
      if (p instanceof String s) {
        out.writeBytes(utf8(s));
      } else if (p instanceof int[] raw) {
        for (int b : raw) {
          out.write(b);
        }
      }
    }
    return out.toByteArray();
  }

  private static String named(String key) {
    NAMED.add(key);
    return key;
  }

  /** A /set body for {@code key} (recorded as named) with a raw value. */
  private static String setBody(String key, String rawValue) {
    return "{\"key\":\"" + named(key) + "\",\"value\":" + rawValue + "}";
  }

  private static Arguments c(String name, HttpMethod method, String uri, Object body, int status) {
    byte[] b = body == null ? null : body instanceof byte[] raw ? raw : utf8((String) body);
    return Arguments.of(Named.of(name, new Case(method, uri, b, false, status)));
  }

  private static Arguments chunked(String name, HttpMethod method, String uri, String body, int status) {
    return Arguments.of(Named.of(name, new Case(method, uri, utf8(body), true, status)));
  }

  private static Arguments post(String name, String body, int status) {
    return c(name, HttpMethod.POST, "/set", body, status);
  }

  private static Arguments apply(String name, String body) {
    return c(name, HttpMethod.POST, "/internal/apply", body, 400);
  }

  static Stream<Arguments> badRequests() {
    HttpMethod POST = HttpMethod.POST;
    HttpMethod GET = HttpMethod.GET;
    HttpMethod DELETE = HttpMethod.DELETE;
    String v = "\"1700000000000.0.0\"";
    List<Arguments> t = new ArrayList<>();

    // malformed JSON
    t.add(post("value missing after colon", "{\"key\":\"" + named("mj-1") + "\",\"value\":}", 400));
    t.add(post("unterminated object", "{\"key\":\"" + named("mj-2") + "\",\"value\":1", 400));
    t.add(post("unquoted field name", "{key:\"" + named("mj-3") + "\",\"value\":1}", 400));
    t.add(post("single quotes", "{'key':'" + named("mj-4") + "','value':1}", 400));
    t.add(post("trailing comma", setBody("mj-5", "1,"), 400));
    t.add(post("NaN value", setBody("mj-6", "NaN"), 400));
    t.add(post("bare word value", setBody("mj-7", "tru"), 400));
    t.add(post("unterminated string value", setBody("mj-8", "\"open"), 400));
    t.add(post("leading zero number", setBody("mj-9", "01"), 400));
    t.add(post("raw control character in string", setBody("mj-10", "\"a\u0001b\""), 400));
    t.add(post("comment in JSON", "/* c */" + setBody("mj-11", "1"), 400));
    // empty and non-object bodies
    t.add(post("empty body", "", 400));
    t.add(c("no body at all", POST, "/set", null, 400));
    t.add(post("whitespace body", "  \n\t ", 400));
    t.add(post("array body", "[" + setBody("arr-1", "1") + "]", 400));
    t.add(post("string body", "\"" + named("str-1") + "\"", 400));
    t.add(post("number body", "42", 400));
    t.add(post("null body", "null", 400));
    t.add(post("boolean body", "true", 400));
    // keys
    t.add(post("missing key", "{\"value\":1}", 400));
    t.add(post("empty key", "{\"key\":\"\",\"value\":1}", 400));
    t.add(post("key is a number", "{\"key\":5,\"value\":1}", 400));
    t.add(post("key is null", "{\"key\":null,\"value\":1}", 400));
    t.add(post("key is an object", "{\"key\":{\"k\":\"" + named("ko") + "\"},\"value\":1}", 400));
    t.add(post("key is an array", "{\"key\":[\"" + named("ka") + "\"],\"value\":1}", 400));
    t.add(post("key is true", "{\"key\":true,\"value\":1}", 400));
    t.add(post("key of 1025 ASCII bytes", setBody("k".repeat(1025), "1"), 400));
    t.add(post("key of 342 three-byte chars (1026 bytes)", setBody("€".repeat(342), "1"), 400));
    t.add(post("key of 257 four-byte chars (1028 bytes)", setBody("🔑".repeat(257), "1"), 400));
    t.add(post("key crossing 1024 bytes in its last chars", setBody("€".repeat(341) + "ab", "1"), 400));
    t.add(post("key of 513 two-byte chars (1026 bytes)", setBody("é".repeat(513), "1"), 400));
    t.add(post("lone high surrogate escape in key", "{\"key\":\"\\ud800\",\"value\":1}", 400));
    t.add(post("lone low surrogate escape in key", "{\"key\":\"" + named("a") + "\\udc00b\",\"value\":1}", 400));
    t.add(post("reversed surrogate pair in key", "{\"key\":\"\\udc00\\ud800\",\"value\":1}", 400));
    // values
    t.add(post("missing value", "{\"key\":\"" + named("nv-1") + "\"}", 400));
    t.add(post("missing value with ttl", "{\"key\":\"" + named("nv-2") + "\",\"ttl\":5}", 400));
    t.add(post("ASCII value over MAX_VALUE_BYTES", setBody("big-ascii", "\"" + "x".repeat(2 * MAX_VALUE_BYTES) + "\""), 413));
    t.add(post("array value over MAX_VALUE_BYTES", setBody("big-array", "[" + "1,".repeat(MAX_VALUE_BYTES) + "1]"), 413));
    t.add(post("multibyte value over MAX_VALUE_BYTES in bytes, under it in chars",
        setBody("big-multibyte", "\"" + "€".repeat(600) + "\""), 413));
    t.add(post("body over the limit with Content-Length", setBody("big-body", "\"" + "x".repeat(16 * MAX_VALUE_BYTES) + "\""), 413));
    t.add(chunked("body over the limit, chunked without Content-Length", POST, "/set",
        setBody("big-chunked", "\"" + "x".repeat(16 * MAX_VALUE_BYTES) + "\""), 413));
    // trailing garbage
    t.add(post("garbage after the object", setBody("tg-1", "1") + " x", 400));
    t.add(post("second object after the object", setBody("tg-2", "1") + setBody("tg-3", "2"), 400));
    t.add(post("stray bracket after the object", setBody("tg-4", "1") + "]", 400));
    // ttl
    t.add(post("ttl zero", "{\"key\":\"" + named("ttl-1") + "\",\"value\":1,\"ttl\":0}", 400));
    t.add(post("ttl negative", "{\"key\":\"" + named("ttl-2") + "\",\"value\":1,\"ttl\":-5}", 400));
    t.add(post("ttl string", "{\"key\":\"" + named("ttl-3") + "\",\"value\":1,\"ttl\":\"10\"}", 400));
    t.add(post("ttl float", "{\"key\":\"" + named("ttl-4") + "\",\"value\":1,\"ttl\":1.5}", 400));
    t.add(post("ttl exponent", "{\"key\":\"" + named("ttl-5") + "\",\"value\":1,\"ttl\":1e3}", 400));
    t.add(post("ttl overflowing long", "{\"key\":\"" + named("ttl-6") + "\",\"value\":1,\"ttl\":99999999999999999999}", 400));
    t.add(post("ttl over 100 years", "{\"key\":\"" + named("ttl-7") + "\",\"value\":1,\"ttl\":3153600001}", 400));
    t.add(post("ttl null", "{\"key\":\"" + named("ttl-8") + "\",\"value\":1,\"ttl\":null}", 400));
    t.add(c("?ttl=0", POST, "/set?ttl=0", setBody("ttlq-1", "1"), 400));
    t.add(c("?ttl=abc", POST, "/set?ttl=abc", setBody("ttlq-2", "1"), 400));
    t.add(c("?ttl=-1", POST, "/set?ttl=-1", setBody("ttlq-3", "1"), 400));
    t.add(c("?ttl=1.5", POST, "/set?ttl=1.5", setBody("ttlq-4", "1"), 400));
    t.add(c("?ttl empty", POST, "/set?ttl=", setBody("ttlq-5", "1"), 400));
    // consistency levels
    t.add(c("?w=two on /set", POST, "/set?w=two", setBody("w-1", "1"), 400));
    t.add(c("?w empty on /set", POST, "/set?w=", setBody("w-2", "1"), 400));
    t.add(c("?w=most on /delete", DELETE, "/delete?key=sentinel-a&w=most", null, 400));
    t.add(c("?r=everything on /get", GET, "/get?key=sentinel-a&r=everything", null, 400));
    t.add(c("?r empty on /get", GET, "/get?key=sentinel-a&r=", null, 400));
    t.add(c("?w=bogus on legacy /internal/set", POST, "/internal/set?w=bogus", setBody("w-3", "1"), 400));
    // query keys
    t.add(c("/get without key", GET, "/get", null, 400));
    t.add(c("/get with empty key", GET, "/get?key=", null, 400));
    t.add(c("/get with key twice", GET, "/get?key=sentinel-a&key=sentinel-b", null, 400));
    t.add(c("/get with key over 1024 bytes", GET, "/get?key=" + "q".repeat(1025), null, 400));
    t.add(c("/delete without key", DELETE, "/delete", null, 400));
    t.add(c("/delete with key twice", DELETE, "/delete?key=sentinel-a&key=sentinel-b", null, 400));
    t.add(c("/internal/get without key", GET, "/internal/get", null, 400));
    t.add(c("/internal/delete with key twice", DELETE, "/internal/delete?key=sentinel-a&key=sentinel-b", null, 400));
    // percent-encoding
    t.add(c("bad percent-encoding in /get", GET, "/get?key=%zz", null, 400));
    t.add(c("truncated percent-encoding in /get", GET, "/get?key=abc%E", null, 400));
    t.add(c("bad percent-encoding in /delete", DELETE, "/delete?key=sentinel-a%zz", null, 400));
    t.add(c("bad percent-encoding in /set query", POST, "/set?w=%g1", setBody("pct-1", "1"), 400));
    // methods and routes
    t.add(c("PUT /set", HttpMethod.PUT, "/set", setBody("m-1", "1"), 405));
    t.add(c("GET /set", GET, "/set?key=" + named("m-2"), null, 405));
    t.add(c("POST /get", POST, "/get?key=sentinel-a", "{}", 405));
    t.add(c("GET /delete", GET, "/delete?key=sentinel-a", null, 405));
    t.add(c("PATCH /delete", HttpMethod.PATCH, "/delete?key=sentinel-a", null, 405));
    t.add(c("POST /health", POST, "/health", "{}", 405));
    t.add(c("GET /internal/apply", GET, "/internal/apply", null, 405));
    t.add(c("DELETE /internal/set", DELETE, "/internal/set?key=sentinel-a", null, 405));
    t.add(c("unknown route", GET, "/nope", null, 404));
    t.add(c("unknown internal route", POST, "/internal/nope", "[]", 404));
    t.add(c("path below /set", POST, "/set/extra", setBody("r-1", "1"), 404));
    // nesting
    t.add(post("value nested 510 arrays deep", setBody("deep-1", "[".repeat(510) + "]".repeat(510)), 400));
    t.add(post("value opening 10,000 arrays", setBody("deep-2", "[".repeat(10_000)), 400));
    t.add(post("value nested 1,000 objects deep", setBody("deep-3", "{\"a\":".repeat(1_000) + "1" + "}".repeat(1_000)), 400));
    t.add(apply("internal apply of 10,000 nested arrays", "[".repeat(10_000) + "]".repeat(10_000)));
    // invalid UTF-8
    t.add(c("invalid UTF-8 start byte in key", POST, "/set", bytes("{\"key\":\"" + named("u8-0"), new int[] {0xFF}, "\",\"value\":1}"), 400));
    t.add(c("truncated UTF-8 sequence in value", POST, "/set", bytes("{\"key\":\"" + named("u8-1") + "\",\"value\":\"", new int[] {0xC3, 0x28}, "\"}"), 400));
    t.add(c("invalid UTF-8 inside a nested value", POST, "/set", bytes("{\"key\":\"" + named("u8-2") + "\",\"value\":[\"", new int[] {0xFE}, "\"]}"), 400));
    named("u8-3/"); // what a lenient decoder makes of "u8-3" + C0 AF
    t.add(c("overlong UTF-8 encoding of '/' in key", POST, "/set", bytes("{\"key\":\"u8-3", new int[] {0xC0, 0xAF}, "\",\"value\":1}"), 400));
    t.add(c("UTF-8-encoded surrogate in value", POST, "/set", bytes("{\"key\":\"" + named("u8-4") + "\",\"value\":\"", new int[] {0xED, 0xA0, 0x80}, "\"}"), 400));
    t.add(c("invalid UTF-8 in internal apply", POST, "/internal/apply", bytes("[{\"key\":\"" + named("u8-5") + "\",\"version\":" + v + ",\"value\":\"", new int[] {0xFF}, "\"}]"), 400));
    // internal apply
    t.add(apply("internal apply of an object", "{\"key\":\"" + named("ia-1") + "\",\"value\":1,\"version\":" + v + "}"));
    t.add(apply("internal apply of a string", "\"records\""));
    t.add(apply("internal apply of an array of numbers", "[1,2]"));
    t.add(apply("internal apply with empty body", ""));
    t.add(apply("internal apply record missing version", "[{\"key\":\"" + named("ia-2") + "\",\"value\":1}]"));
    t.add(apply("internal apply record with bad version", "[{\"key\":\"" + named("ia-3") + "\",\"value\":1,\"version\":\"yesterday\"}]"));
    t.add(apply("internal apply record with numeric version", "[{\"key\":\"" + named("ia-4") + "\",\"value\":1,\"version\":17}]"));
    t.add(apply("internal apply record missing key", "[{\"value\":1,\"version\":" + v + "}]"));
    t.add(apply("internal apply record without value or tombstone", "[{\"key\":\"" + named("ia-5") + "\",\"version\":" + v + "}]"));
    t.add(apply("internal apply record with string tombstone", "[{\"key\":\"" + named("ia-6") + "\",\"version\":" + v + ",\"tombstone\":\"yes\"}]"));
    t.add(apply("internal apply record with string expires_at", "[{\"key\":\"" + named("ia-7") + "\",\"value\":1,\"version\":" + v + ",\"expires_at\":\"soon\"}]"));
    t.add(apply("internal apply record with lone surrogate key", "[{\"key\":\"\\ud800\",\"value\":1,\"version\":" + v + "}]"));
    t.add(apply("internal apply: one bad record rejects the whole batch",
        "[{\"key\":\"" + named("ia-good") + "\",\"value\":1,\"version\":" + v + "},{\"key\":\"" + named("ia-bad") + "\",\"value\":1}]"));
    t.add(apply("internal apply with garbage after the array", "[{\"key\":\"" + named("ia-8") + "\",\"value\":1,\"version\":" + v + "}] x"));
    t.add(apply("internal apply with an unterminated array", "[{\"key\":\"" + named("ia-9") + "\",\"value\":1,\"version\":" + v + "}"));
    t.add(c("internal apply record with value over MAX_VALUE_BYTES", POST, "/internal/apply",
        "[{\"key\":\"" + named("ia-10") + "\",\"version\":" + v + ",\"value\":\"" + "x".repeat(2 * MAX_VALUE_BYTES) + "\"}]", 413));
    // internal set and delete
    t.add(c("internal set with a bad version string", POST, "/internal/set", "{\"key\":\"" + named("is-1") + "\",\"value\":1,\"version\":\"1.2\"}", 400));
    t.add(c("internal set with a non-numeric version part", POST, "/internal/set", "{\"key\":\"" + named("is-2") + "\",\"value\":1,\"version\":\"1.0.x\"}", 400));
    t.add(c("internal set with a numeric version", POST, "/internal/set", "{\"key\":\"" + named("is-3") + "\",\"value\":1,\"version\":5}", 400));
    t.add(c("internal set with a counter out of range", POST, "/internal/set", "{\"key\":\"" + named("is-4") + "\",\"value\":1,\"version\":\"1.65536.0\"}", 400));
    t.add(c("legacy internal set without value", POST, "/internal/set", "{\"key\":\"" + named("is-5") + "\"}", 400));
    t.add(c("internal set with empty body", POST, "/internal/set", "", 400));
    t.add(c("internal delete with a bad version", DELETE, "/internal/delete?key=sentinel-a&version=bad", null, 400));
    t.add(c("internal delete without key", DELETE, "/internal/delete?version=1.0.0", null, 400));
    return t.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  void refusedWithA4xxJsonError(Case c) {
    Resp r = send(c);
    assertEquals(c.status(), r.status(), () -> c.method() + " " + abbreviate(c.uri()) + " answered " + r.status() + " " + abbreviate(r.body()));
    assertNotNull(r.contentType(), "content-type is set");
    assertTrue(r.contentType().startsWith("application/json"), () -> "content-type " + r.contentType());
    JsonObject body = new JsonObject(r.body());
    assertTrue(body.getValue("error") instanceof String s && !s.isEmpty(), () -> "error code in " + r.body());
    assertTrue(body.getValue("message") instanceof String s && !s.isEmpty(), () -> "message in " + r.body());
    assertFalse(r.body().contains("Exception") || r.body().contains("\tat "), () -> "no stack trace: " + r.body());
  }

  static Stream<Arguments> malformedHttp() {
    return Stream.of(
        Arguments.of(Named.of("Content-Length not a number",
            "POST /set HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}"), 400),
        Arguments.of(Named.of("negative Content-Length",
            "POST /set HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), 400),
        Arguments.of(Named.of("request line over 8 KiB",
            "GET /get?key=" + "a".repeat(9_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"), 414),
        Arguments.of(Named.of("headers over 16 KiB",
            "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n"), 431),
        Arguments.of(Named.of("not an HTTP request line", "HELLO\r\n\r\n"), 400));
  }

  /** Requests the HTTP decoder itself refuses: still the JSON error shape (DESIGN: every error is JSON). */
  @ParameterizedTest(name = "{0}")
  @MethodSource("malformedHttp")
  void malformedHttpIsRefusedWithAJsonError(String request, int status) throws Exception {
    Resp r = rawExchange(request.getBytes(StandardCharsets.UTF_8));
    assertEquals(status, r.status(), () -> "answered " + r.status() + " " + r.body());
    assertTrue(r.contentType() != null && r.contentType().startsWith("application/json"),
        () -> "content-type " + r.contentType() + ", body '" + r.body() + "'");
    JsonObject body = new JsonObject(r.body());
    assertTrue(body.getValue("error") instanceof String s && !s.isEmpty(), () -> "error code in " + r.body());
  }

  @Test
  void badRequestsChangeNothing() throws Exception {
    // Sends the whole table itself, so it holds whichever of these tests ran before.
    badRequests().forEach(a -> send(caseOf(a)));
    for (Arguments a : malformedHttp().toList()) {
      rawExchange(((String) ((Named<?>) a.get()[0]).getPayload()).getBytes(StandardCharsets.UTF_8));
    }
    for (Map.Entry<String, String> e : SENTINELS.entrySet()) {
      Resp g = send(new Case(HttpMethod.GET, "/get?key=" + enc(e.getKey()), null, false, 200));
      assertEquals(200, g.status(), g.body());
      assertTrue(g.body().contains("\"value\":" + e.getValue() + ","), () -> e.getKey() + " changed: " + g.body());
      Resp local = send(new Case(HttpMethod.GET, "/internal/get?key=" + enc(e.getKey()), null, false, 200));
      assertEquals(SENTINEL_RECORDS.get(e.getKey()), local.body(), "record, version included, is unchanged");
    }
    List<String> present = new ArrayList<>();
    for (String key : NAMED) {
      if (key.getBytes(StandardCharsets.UTF_8).length > 1024) {
        continue; // not a valid key at all; the database check below covers it
      }
      Resp r = send(new Case(HttpMethod.GET, "/internal/get?key=" + enc(key), null, false, 404));
      if (r.status() != 404) {
        present.add(abbreviate(key) + " (" + r.status() + ")");
      }
    }
    assertTrue(present.isEmpty(), () -> "keys created by refused requests: " + present);
    // The database itself holds the sentinels and nothing else.
    SQLiteConfig ro = new SQLiteConfig();
    ro.setReadOnly(true);
    Set<String> stored = new TreeSet<>();
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + cluster.dataDir(0).resolve(SqliteStore.FILE_NAME), ro.toProperties());
        Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT key FROM kv")) {
      while (rs.next()) {
        stored.add(rs.getString(1));
      }
    }
    assertEquals(new TreeSet<>(SENTINELS.keySet()), stored, "keys in the database");
  }

  // ---- plumbing --------------------------------------------------------------------------

  private static Case caseOf(Arguments a) {
    return (Case) ((Named<?>) a.get()[0]).getPayload();
  }

  private static String abbreviate(String s) {
    return s.length() > 120 ? s.substring(0, 120) + "...(" + s.length() + " chars)" : s;
  }

  static Resp send(Case c) {
    RequestOptions options = new RequestOptions().setMethod(c.method()).setHost("127.0.0.1").setPort(cluster.port(0)).setURI(c.uri());
    Future<Resp> f = http.request(options).compose(req -> {
      Future<io.vertx.core.http.HttpClientResponse> sent;
      if (c.chunked()) {
        req.setChunked(true);
        sent = req.response();
        writeInChunks(req, c.body());
      } else if (c.body() == null) {
        sent = req.send();
      } else {
        sent = req.send(Buffer.buffer(c.body()));
      }
      return sent.compose(res -> res.body().map(b -> new Resp(res.statusCode(), res.getHeader("content-type"), b.toString(StandardCharsets.UTF_8))));
    });
    try {
      return f.await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(c.method() + " " + abbreviate(c.uri()) + " failed: " + e, e);
    }
  }

  /** One request over a plain socket; reads the status line, headers and a Content-Length body. */
  private static Resp rawExchange(byte[] request) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", cluster.port(0))) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request);
      socket.getOutputStream().flush();
      java.io.InputStream in = socket.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (head.size() < 4 || !head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          break;
        }
        head.write(b);
      }
      String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
      assertTrue(lines.length > 0 && lines[0].startsWith("HTTP/"), () -> "no HTTP response: " + head);
      int status = Integer.parseInt(lines[0].split(" ")[1]);
      String contentType = null;
      int length = 0;
      for (String line : lines) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          String name = line.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT);
          String value = line.substring(colon + 1).trim();
          if (name.equals("content-type")) {
            contentType = value;
          } else if (name.equals("content-length")) {
            length = Integer.parseInt(value);
          }
        }
      }
      return new Resp(status, contentType, new String(in.readNBytes(length), StandardCharsets.UTF_8));
    }
  }

  private static void writeInChunks(HttpClientRequest req, byte[] body) {
    int chunk = 4096;
    for (int off = 0; off < body.length; off += chunk) {
      int end = Math.min(body.length, off + chunk);
      Buffer part = Buffer.buffer(java.util.Arrays.copyOfRange(body, off, end));
      if (end == body.length) {
        req.end(part);
      } else {
        req.write(part);
      }
    }
  }
}
