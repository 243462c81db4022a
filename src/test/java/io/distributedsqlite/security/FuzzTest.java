package io.distributedsqlite.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.TestCluster;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Over 10,000 generated malformed and hostile requests against one running node (seeded; the seed
 * is printed, rerun with {@code -Dfuzz.seed=<n>}): random bodies, deep nesting, huge numbers,
 * invalid UTF-8, hostile keys, wrong methods and content types, random query strings and paths,
 * most through a pooled client, some as raw bytes on sockets. None may get a 5xx, every error is
 * the JSON shape, and the node stays healthy with its sentinel records unchanged.
 */
class FuzzTest {
  private static final int POOLED = 9_560;
  private static final int RAW = 440;
  private static final int WINDOW = 24;
  private static final int MAX_VALUE_BYTES = 65_536;

  private static final Map<String, String> SENTINELS = new LinkedHashMap<>();

  static {
    SENTINELS.put("sentinel-a", "{\"a\":[1,2.50,\"x\"],\"b\":null}");
    SENTINELS.put("sentinel-b", "\"text with \\u0000 and \\\"quotes\\\"\"");
    SENTINELS.put("sentinel-c", "[true,false,{},[]]");
    SENTINELS.put("sentinel/../etc/passwd", "1e400");
    SENTINELS.put("sentinel-ключ-🔑", "-0.0");
  }

  @TempDir static Path dir;
  private static TestCluster cluster;

  @BeforeAll
  static void startNode() {
    // REQUEST_TIMEOUT is short so that a request the node never answers shows up as a 503 quickly
    cluster = TestCluster.start(1, 1, dir, Map.of("MAX_VALUE_BYTES", Integer.toString(MAX_VALUE_BYTES),
        "SQLITE_SYNCHRONOUS", "NORMAL", "REQUEST_TIMEOUT", "2s", "HTTP_INSTANCES", "2"));
  }

  @AfterAll
  static void stopNode() {
    if (cluster != null) {
      cluster.close();
    }
  }

  record Case(String kind, HttpMethod method, String uri, List<String[]> headers, byte[] body, boolean mayClose) {
    String describe() {
      String b = body == null ? "" : new String(body, 0, Math.min(body.length, 120), StandardCharsets.ISO_8859_1);
      String u = uri.length() > 160 ? uri.substring(0, 160) + "..." : uri;
      return kind + " " + method.name() + " " + u + " body[" + (body == null ? 0 : body.length) + "]=" + b.replaceAll("[^\\x20-\\x7e]", "?");
    }
  }

  @Test
  void tenThousandHostileRequestsGetNo5xxOnlyJsonErrorsAndChangeNothing() throws Exception {
    long seed = Long.getLong("fuzz.seed", System.nanoTime());
    Random rnd = new Random(seed);
    int port = cluster.port(0);
    String base = cluster.baseUrl(0);
    Wire wire = new Wire();
    Map<String, String> records = new LinkedHashMap<>();
    Map<String, String> reads = new LinkedHashMap<>();
    for (Map.Entry<String, String> s : SENTINELS.entrySet()) {
      Wire.Resp w = wire.send("POST", base + "/set", Wire.setBody(s.getKey(), s.getValue()));
      assertEquals(200, w.status(), w::toString);
      Wire.Resp local = wire.send("GET", base + "/internal/get?key=" + Wire.enc(s.getKey()), null);
      assertEquals(200, local.status(), local::toString);
      records.put(s.getKey(), local.body());
      reads.put(s.getKey(), wire.send("GET", base + "/get?key=" + Wire.enc(s.getKey()), null).body());
    }

    Map<Integer, Integer> histogram = Collections.synchronizedMap(new TreeMap<>());
    List<String> problems = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger sent = new AtomicInteger();
    AtomicInteger unanswered = new AtomicInteger();
    AtomicInteger clientStalls = new AtomicInteger();
    // Requests the pooled client got no answer to. The Vert.x client itself sometimes loses a
    // request on a connection the server closed; each suspect is therefore sent again on a fresh
    // socket, and only a server that still does not answer properly is a problem.
    List<Case> suspects = Collections.synchronizedList(new ArrayList<>());
    long start = System.nanoTime();

    // ---- pooled client ----
    Vertx vertx = Vertx.vertx();
    try {
      HttpClient client = vertx.createHttpClient(
          new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port).setKeepAlive(true)
              .setMaxInitialLineLength(16 * 1024).setMaxHeaderSize(32 * 1024),
          new PoolOptions().setHttp1MaxSize(2 * WINDOW));
      Semaphore window = new Semaphore(WINDOW);
      Map<Integer, Case> inFlight = new java.util.concurrent.ConcurrentHashMap<>();
      CountDownLatch done = new CountDownLatch(POOLED);
      for (int i = 0; i < POOLED; i++) {
        Case c = pooledCase(rnd);
        window.acquire();
        RequestOptions o = new RequestOptions().setMethod(c.method()).setURI(c.uri());
        for (String[] h : c.headers()) {
          o.addHeader(h[0], h[1]);
        }
        int id = i;
        inFlight.put(id, c);
        java.util.concurrent.atomic.AtomicBoolean finished = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean gotConnection = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.function.Consumer<Runnable> finish = outcome -> {
          if (finished.compareAndSet(false, true)) {
            try {
              inFlight.remove(id);
              sent.incrementAndGet();
              outcome.run();
            } catch (RuntimeException e) {
              problems.add("checking the answer failed (" + e + ") for " + c.describe());
            } finally {
              window.release();
              done.countDown();
            }
          }
        };
        // a watchdog, so that no single request (or a client-side stall) can hang the test
        long watchdog = vertx.setTimer(20_000, t -> finish.accept(() -> {
          histogram.merge(0, 1, Integer::sum);
          unanswered.incrementAndGet();
          if (gotConnection.get()) {
            suspects.add(c);
          } else {
            clientStalls.incrementAndGet();
          }
        }));
        client.request(o)
            .compose(req -> {
              gotConnection.set(true);
              return c.body() == null ? req.send() : req.send(Buffer.buffer(c.body()));
            })
            .compose(res -> res.body().map(b -> new Wire.Raw(res.statusCode(), res.getHeader("content-type"),
                b.toString(StandardCharsets.UTF_8), false, false)))
            .onComplete(ar -> {
              vertx.cancelTimer(watchdog);
              finish.accept(() -> {
                if (ar.succeeded()) {
                  check(c, ar.result(), histogram, problems);
                } else {
                  histogram.merge(0, 1, Integer::sum);
                  unanswered.incrementAndGet();
                  if (!c.mayClose()) {
                    suspects.add(c);
                  }
                }
              });
            });
      }
      if (!done.await(120, TimeUnit.SECONDS)) {
        StringBuilder stuck = new StringBuilder();
        inFlight.values().forEach(c -> stuck.append("\n  ").append(c.describe()));
        throw new AssertionError("pooled requests did not finish (seed " + seed + "); in flight:" + stuck);
      }
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }

    int replayed = 0;
    for (Case c : new ArrayList<>(suspects)) {
      replayed++;
      Wire.Raw again;
      try {
        again = Wire.rawExchange(port, rawRequest(c), false, 10_000);
      } catch (java.io.IOException e) {
        again = new Wire.Raw(0, null, e.toString(), true, false);
      }
      if (again.status() == 0) {
        problems.add("no answer, also when sent again on a fresh connection, to " + c.describe());
      } else {
        List<String> replayProblems = new ArrayList<>();
        check(c, again, new TreeMap<>(), replayProblems);
        problems.addAll(replayProblems);
      }
    }

    // ---- raw sockets ----
    List<byte[][]> raws = new ArrayList<>();
    for (int i = 0; i < RAW; i++) {
      raws.add(rawCase(rnd));
    }
    AtomicInteger rawTimeouts = new AtomicInteger();
    AtomicInteger unknownVersion = new AtomicInteger();
    List<String> timeoutSamples = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (byte[][] r : raws) {
        futures.add(pool.submit(() -> {
          boolean truncated = r[1][0] == 1;
          Wire.Raw res;
          try {
            res = Wire.rawExchange(port, r[0], truncated, 2000);
          } catch (java.io.IOException e) {
            res = new Wire.Raw(0, null, e.toString(), true, false);
          }
          sent.incrementAndGet();
          if (res.timedOut()) {
            rawTimeouts.incrementAndGet();
          }
          String what = "raw " + new String(r[0], 0, Math.min(120, r[0].length), StandardCharsets.ISO_8859_1)
              .replaceAll("[^\\x20-\\x7e]", "?");
          Case c = new Case("raw", HttpMethod.GET, what, List.of(), null, true);
          if (res.status() == 0) {
            histogram.merge(0, 1, Integer::sum);
            if (res.timedOut()) {
              timeoutSamples.add(what);
            }
          } else if (res.status() == 501 && !isHttp1x(r[0])) {
            // Vert.x itself answers an unknown HTTP version so; pinned down by anUnsupportedHttpVersionIsRefusedAndTheNodeKeepsServing
            histogram.merge(501, 1, Integer::sum);
            unknownVersion.incrementAndGet();
          } else {
            check(c, res, histogram, problems);
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    System.out.println("fuzz seed=" + seed + " requests=" + sent.get() + " (pooled " + POOLED + ", raw " + RAW + ") in "
        + millis + " ms statuses=" + histogram + " unanswered-pooled=" + unanswered.get() + " client-stalls=" + clientStalls.get()
        + " replayed-unanswered=" + replayed + " raw-timeouts=" + rawTimeouts.get() + " 501-for-unknown-HTTP-version=" + unknownVersion.get());
    timeoutSamples.stream().limit(5).forEach(t -> System.out.println("  raw timeout: " + t));

    assertTrue(sent.get() - clientStalls.get() >= 10_000, "at least 10,000 requests: " + sent.get() + " - " + clientStalls.get());

    // the node is still healthy and the sentinels are untouched
    assertEquals(200, wire.send("GET", base + "/health", null).status());
    Wire.Resp ready = wire.send("GET", base + "/ready", null);
    assertEquals(200, ready.status(), ready::toString);
    for (Map.Entry<String, String> e : records.entrySet()) {
      Wire.Resp now = wire.send("GET", base + "/internal/get?key=" + Wire.enc(e.getKey()), null);
      assertEquals(e.getValue(), now.body(), "sentinel " + e.getKey() + " unchanged, version included (seed " + seed + ")");
      Wire.Resp read = wire.send("GET", base + "/get?key=" + Wire.enc(e.getKey()), null);
      assertEquals(reads.get(e.getKey()), read.body(), "sentinel " + e.getKey() + " reads back the same");
    }
    // last, so that health and sentinels are checked whatever else went wrong
    assertTrue(problems.isEmpty(), () -> problems.size() + " problems (seed " + seed + "), first ones:\n"
        + String.join("\n", problems.subList(0, Math.min(25, problems.size()))));
  }

  /**
   * An unknown HTTP version is answered by Vert.x's HTTP/1 codec itself, before any handler of
   * ours runs: a bare 501 and a closed connection (documented in the README as the one error
   * without the JSON shape). What we guarantee: it is refused, the connection closes, and the
   * node keeps serving.
   */
  @Test
  void anUnsupportedHttpVersionIsRefusedAndTheNodeKeepsServing() throws Exception {
    List<String> wrong = new ArrayList<>();
    for (String version : List.of("HTTP/9.9", "HTTP/1.2", "HTTP/2.0", "HTTPS/1.1")) {
      Wire.Raw r = Wire.rawExchange(cluster.port(0), ascii("GET /health " + version + "\r\nHost: x\r\n\r\n"), false, 5000);
      boolean refused = r.status() == 501 || (r.status() >= 400 && r.status() < 500 && r.isJsonError());
      if (!refused) {
        wrong.add(version + " -> " + (r.status() == 0 ? "no answer" : r.status() + " body='" + abbreviate(r.body()) + "'"));
      }
    }
    assertTrue(wrong.isEmpty(), () -> "unsupported HTTP versions were not refused: " + wrong);
    assertEquals(200, new Wire().send("GET", cluster.baseUrl(0) + "/health", null).status());
  }

  /** {@code POST /internal/records} with {@code []} (nothing to look up) answers at once with an empty list. */
  @Test
  void internalRecordsWithAnEmptyKeyListAnswersAnEmptyList() {
    Wire.Resp r = new Wire().call("POST", cluster.baseUrl(0) + "/internal/records", "[]", "content-type", "application/json");
    assertEquals(200, r.status(), () -> "answered " + r);
    assertEquals("[]", r.body());
  }

  /**
   * Request metrics must not grow with what clients send: a client inventing method names (any
   * token is a valid HTTP method) must not create a new time series, with its histogram, for each.
   */
  @Test
  void inventedMethodNamesDoNotCreateMetricSeries() throws Exception {
    for (int i = 0; i < 60; i++) {
      Wire.Raw r = Wire.rawExchange(cluster.port(0), ascii("XM" + i + "Q /health HTTP/1.1\r\nHost: x\r\n\r\n"), false, 5000);
      assertTrue(r.status() >= 400 && r.status() < 500 && r.isJsonError(), () -> "invented method: " + r);
    }
    String metrics = new Wire().call("GET", cluster.baseUrl(0) + "/metrics", null).body();
    java.util.Set<String> invented = new java.util.TreeSet<>();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("method=\"(XM\\d+Q)\"").matcher(metrics);
    while (m.find()) {
      invented.add(m.group(1));
    }
    assertTrue(invented.size() <= 1, () -> invented.size() + " metric series created for invented method names, e.g. "
        + invented.stream().limit(5).toList() + " (" + metrics.length() + " bytes of /metrics)");
  }

  /** Whether the request line of a raw request ends in HTTP/1.0 or HTTP/1.1 (what Vert.x serves). */
  private static boolean isHttp1x(byte[] request) {
    String text = new String(request, StandardCharsets.ISO_8859_1);
    int eol = text.indexOf('\n');
    String line = (eol < 0 ? text : text.substring(0, eol)).strip();
    return line.endsWith(" HTTP/1.1") || line.endsWith(" HTTP/1.0");
  }

  private static void check(Case c, Wire.Raw r, Map<Integer, Integer> histogram, List<String> problems) {
    histogram.merge(r.status(), 1, Integer::sum);
    if (r.status() >= 500) {
      problems.add(r.status() + " " + abbreviate(r.body()) + " for " + c.describe());
    } else if (r.status() >= 400 && c.method() != HttpMethod.HEAD && !r.isJsonError()) {
      problems.add(r.status() + " without the JSON error shape (content-type " + r.contentType() + ", body "
          + abbreviate(r.body()) + ") for " + c.describe());
    }
  }

  /** The case as raw HTTP/1.1 bytes with its real Content-Length, for a replay on a fresh socket. */
  private static byte[] rawRequest(Case c) {
    StringBuilder head = new StringBuilder();
    head.append(c.method().name()).append(' ').append(c.uri()).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (String[] h : c.headers()) {
      if (!h[0].equalsIgnoreCase("content-length") && !h[0].equalsIgnoreCase("connection")) {
        head.append(h[0]).append(": ").append(h[1]).append("\r\n");
      }
    }
    byte[] body = c.body() == null ? new byte[0] : c.body();
    head.append("Content-Length: ").append(body.length).append("\r\nConnection: close\r\n\r\n");
    byte[] start = head.toString().getBytes(StandardCharsets.UTF_8);
    byte[] out = java.util.Arrays.copyOf(start, start.length + body.length);
    System.arraycopy(body, 0, out, start.length, body.length);
    return out;
  }

  private static String abbreviate(String s) {
    return s == null ? "null" : s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  // ---- pooled cases ----------------------------------------------------------------------

  // (/metrics is left out: every scrape renders every series, which makes it the one expensive read)
  private static final String[] PATHS = {"/set", "/get", "/delete", "/health", "/ready", "/cluster",
      "/admin/repair", "/internal/ping", "/internal/get", "/internal/set", "/internal/delete", "/internal/apply",
      "/internal/digests", "/internal/buckets", "/internal/records"};
  private static final HttpMethod[] METHODS = {HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE,
      HttpMethod.PATCH, HttpMethod.OPTIONS, HttpMethod.TRACE, HttpMethod.HEAD, HttpMethod.valueOf("PROPFIND"),
      HttpMethod.valueOf("FOO"), HttpMethod.valueOf("get")};
  private static final String[] CONTENT_TYPES = {null, "application/json", "text/plain", "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=----fuzz", "application/json; charset=utf-16", "application/json; charset=latin1",
      "application/xml", "*/*", "", "application/octet-stream", "json", "application/json;;;==="};
  private static final String[] HOSTILE_KEYS = {"../../etc/passwd", "..\\..\\windows\\system32\\config", "/etc/passwd",
      "%2e%2e%2f%2e%2e%2f", "\u0000", "a\u0000b", "sentinel-a\u0000", "sentinel-a ", " sentinel-a", "SENTINEL-A",
      "sentinel-a/../sentinel-b", "sentinel/../etc/passwd/", "\r\nX-Injected: 1", "\u001b[31mred", "\u007f", "\u202egnp.exe",
      "\uFEFFbom", "' OR 1=1 --", "\"; DROP TABLE kv; --", "${jndi:ldap://127.0.0.1/x}", "<script>alert(1)</script>",
      "k".repeat(1024), "k".repeat(1025), "é".repeat(512), "é".repeat(513), "🔑".repeat(256), "🔑".repeat(257), " ", "\t",
      "\\", "%", "%00", "?key=x", "&key=y", "#frag", "key=sentinel-a", "\uD83D\uDD11", "\uFFFF", "\uFFFD"};

  private static Case pooledCase(Random r) {
    String key = "fz-" + Long.toString(r.nextLong() & 0xffffffffL, 36);
    String v = "\"" + (System.currentTimeMillis() - r.nextInt(1_000_000)) + "." + r.nextInt(100) + "." + r.nextInt(3) + "\"";
    List<String[]> headers = new ArrayList<>();
    switch (r.nextInt(16)) {
      case 0: { // random bytes as a body
        String path = pick(r, "/set", "/internal/apply", "/internal/set", "/internal/records");
        byte[] b = randomBytes(r, r.nextInt(40) == 0 ? 70_000 + r.nextInt(20_000) : r.nextInt(3000));
        contentType(r, headers);
        return new Case("random-body", HttpMethod.POST, path, headers, b, b.length > 60_000);
      }
      case 1: { // a valid body, mutated
        String valid = r.nextBoolean() ? Wire.setBody(key, randomJson(r, 3))
            : "[{\"key\":\"" + key + "\",\"value\":" + randomJson(r, 3) + ",\"version\":" + v + ",\"tombstone\":false,\"expires_at\":0}]";
        String path = valid.startsWith("[") ? "/internal/apply" : pick(r, "/set", "/internal/set");
        headers.add(new String[] {"content-type", "application/json"});
        return new Case("mutated", HttpMethod.POST, path, headers, mutate(r, valid.getBytes(StandardCharsets.UTF_8)), false);
      }
      case 2: { // deep nesting
        int depth = pickInt(r, 100, 499, 500, 501, 999, 1000, 1001, 5000, 30_000);
        String open = r.nextBoolean() ? "[" : "{\"a\":";
        String close = open.equals("[") ? "]" : "}";
        String nested = open.repeat(depth) + (open.equals("[") ? "" : "1") + (r.nextInt(4) == 0 ? "" : close.repeat(depth));
        String body = switch (r.nextInt(3)) {
          case 0 -> Wire.setBody(key, nested);
          case 1 -> "[{\"key\":\"" + key + "\",\"value\":" + nested + ",\"version\":" + v + "}]";
          default -> nested;
        };
        String path = body.startsWith("{\"key\"") ? "/set" : "/internal/apply";
        return new Case("deep", HttpMethod.POST, path, headers, body.getBytes(StandardCharsets.UTF_8), false);
      }
      case 3: { // huge and odd numbers
        String n = pick(r, "1" + "0".repeat(r.nextInt(20_000)), "1e999999999", "-1e-999999999", "0." + "0".repeat(5000) + "1",
            "123456789012345678901234567890", "NaN", "Infinity", "-Infinity", "0x10", "1_000", "+1", "-", "1.", ".5", "1e",
            "9223372036854775808", "-9223372036854775809", "1E+2147483648", "00", "-0");
        String body = switch (r.nextInt(4)) {
          case 0 -> Wire.setBody(key, n);
          case 1 -> "{\"key\":\"" + key + "\",\"value\":1,\"ttl\":" + n + "}";
          case 2 -> "[{\"key\":\"" + key + "\",\"value\":1,\"version\":" + v + ",\"expires_at\":" + n + "}]";
          default -> "{\"key\":\"" + key + "\",\"value\":[" + n + "," + n + "]}";
        };
        String path = body.startsWith("[") ? "/internal/apply" : "/set";
        return new Case("numbers", HttpMethod.POST, path, headers, body.getBytes(StandardCharsets.UTF_8), false);
      }
      case 4: { // invalid UTF-8
        byte[][] bad = {{(byte) 0xFF}, {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xE2, (byte) 0x82},
            {(byte) 0x80}, {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
            {(byte) 0xFE, (byte) 0xFF}};
        byte[] b = bad[r.nextInt(bad.length)];
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean apply = r.nextBoolean();
        out.writeBytes((apply ? "[{\"key\":\"" : "{\"key\":\"").getBytes(StandardCharsets.UTF_8));
        out.writeBytes(key.getBytes(StandardCharsets.UTF_8));
        if (r.nextBoolean()) {
          out.writeBytes(b);
          out.writeBytes("\",\"value\":\"x\"".getBytes(StandardCharsets.UTF_8));
        } else {
          out.writeBytes("\",\"value\":\"".getBytes(StandardCharsets.UTF_8));
          out.writeBytes(b);
          out.writeBytes("\"".getBytes(StandardCharsets.UTF_8));
        }
        out.writeBytes((apply ? ",\"version\":" + v + "}]" : "}").getBytes(StandardCharsets.UTF_8));
        return new Case("utf8", HttpMethod.POST, apply ? "/internal/apply" : pick(r, "/set", "/internal/set"), headers, out.toByteArray(), false);
      }
      case 5: { // hostile keys in the query
        String k = hostileKey(r);
        String q = r.nextInt(5) == 0 ? pick(r, "%C0%AF", "%ED%A0%80", "%FF", "%F4%90%80%80", "%E2%82", "%00", "%", "%zz", "%2")
            : Wire.enc(k);
        return switch (r.nextInt(3)) {
          case 0 -> new Case("key-query", HttpMethod.GET, "/get?key=" + q, headers, null, false);
          case 1 -> new Case("key-query", HttpMethod.GET, "/internal/get?key=" + q, headers, null, false);
          default -> new Case("key-query", HttpMethod.DELETE, pick(r, "/delete?key=", "/internal/delete?key=") + q, headers, null, false);
        };
      }
      case 6: { // hostile keys in bodies (may be valid writes of other keys)
        String k = hostileKey(r);
        String body = r.nextBoolean() ? Wire.setBody(k, randomJson(r, 2))
            : "[" + io.vertx.core.json.Json.encode(new JsonObject().put("key", k).put("value", 1)
                .put("version", v.replace("\"", "")).put("tombstone", r.nextBoolean())) + "]";
        String path = body.startsWith("[") ? "/internal/apply" : pick(r, "/set", "/internal/set");
        return new Case("key-body", HttpMethod.POST, path, headers, body.getBytes(StandardCharsets.UTF_8), false);
      }
      case 7: { // wrong and odd methods on known paths
        HttpMethod m = METHODS[r.nextInt(METHODS.length)];
        String path = PATHS[r.nextInt(PATHS.length)] + (r.nextBoolean() ? "?key=" + key : "");
        byte[] b = r.nextBoolean() ? Wire.setBody(key, "1").getBytes(StandardCharsets.UTF_8) : null;
        if (m == HttpMethod.DELETE && path.startsWith("/delete")) {
          m = HttpMethod.PUT;
        }
        return new Case("method", m, path, headers, m == HttpMethod.HEAD ? null : b, false);
      }
      case 8: { // wrong and missing content types on otherwise valid writes
        contentType(r, headers);
        return new Case("content-type", HttpMethod.POST, pick(r, "/set", "/internal/set"), headers,
            Wire.setBody(key, randomJson(r, 2)).getBytes(StandardCharsets.UTF_8), false);
      }
      case 9: { // truncated bodies (Content-Length matches what is sent)
        String valid = r.nextBoolean() ? Wire.setBody(key, randomJson(r, 3))
            : "[{\"key\":\"" + key + "\",\"value\":" + randomJson(r, 3) + ",\"version\":" + v + "}]";
        byte[] all = valid.getBytes(StandardCharsets.UTF_8);
        byte[] cut = java.util.Arrays.copyOf(all, r.nextInt(all.length));
        return new Case("truncated", HttpMethod.POST, valid.startsWith("[") ? "/internal/apply" : "/set", headers, cut, false);
      }
      case 10: { // random query strings on known paths
        String path = PATHS[r.nextInt(PATHS.length)];
        HttpMethod m = path.equals("/set") || path.equals("/admin/repair") || path.equals("/internal/set") || path.equals("/internal/apply")
            || path.equals("/internal/records") ? HttpMethod.POST : path.endsWith("delete") ? HttpMethod.DELETE : HttpMethod.GET;
        if (m == HttpMethod.DELETE) {
          path = "/internal/get"; // a random query must never delete something by accident
          m = HttpMethod.GET;
        }
        byte[] b = m == HttpMethod.POST ? pick(r, Wire.setBody(key, "1"), "[]", "[\"" + key + "\"]").getBytes(StandardCharsets.UTF_8) : null;
        return new Case("query", m, path + "?" + randomQuery(r), headers, b, false);
      }
      case 11: { // random paths
        StringBuilder p = new StringBuilder(r.nextBoolean() ? "/" : "//");
        int segs = 1 + r.nextInt(6);
        for (int s = 0; s < segs; s++) {
          p.append(pick(r, "set", "get", "delete", "internal", "apply", "..", ".", "%2e%2e", "%2F", "", "health", "admin",
              "repair", "%00", "%ff", "~", "a;b", "*", "%", "%zz", "internal%2Fget", "..%2F..%2F", "🔑", "%F0%9F%94%91"));
          if (s < segs - 1) {
            p.append('/');
          }
        }
        if (r.nextInt(20) == 0) {
          p.append("/").append("x".repeat(9000)); // request line over 8 KiB
        }
        if (r.nextBoolean()) {
          p.append('?').append(randomQuery(r));
        }
        String path = p.toString().replace("🔑", "%F0%9F%94%91");
        HttpMethod m = METHODS[r.nextInt(METHODS.length)];
        if (m == HttpMethod.DELETE) {
          m = HttpMethod.GET;
        }
        return new Case("path", m, path, headers, null, path.length() > 8000);
      }
      case 12: { // hostile versions
        String hv = pick(r, "9223372036854775807.0.0", "99999999999999999999.0.0", "1.0.2147483648", "1.-1.0", ".0.0", "1..0",
            "1.0.0.0", (System.currentTimeMillis() + 7_200_000L) + ".0.0", "0.0.0", "1.65536.0", "-1.0.0", "", "1.0.0 ", " 1.0.0",
            "1e3.0.0", "0x1.0.0", "\u0661.0.0", "1.0.999999");
        return switch (r.nextInt(3)) {
          case 0 -> new Case("version", HttpMethod.POST, "/internal/set", headers,
              ("{\"key\":\"" + key + "\",\"value\":1,\"version\":\"" + hv + "\"}").getBytes(StandardCharsets.UTF_8), false);
          case 1 -> new Case("version", HttpMethod.DELETE, "/internal/delete?key=" + key + "&version=" + Wire.enc(hv), headers, null, false);
          default -> new Case("version", HttpMethod.POST, "/internal/apply", headers,
              ("[{\"key\":\"" + key + "\",\"value\":1,\"version\":\"" + hv + "\"}]").getBytes(StandardCharsets.UTF_8), false);
        };
      }
      case 13: { // anti-entropy parameters
        String peer = pick(r, "0", "1", "-1", "99999999999", "1e3", "", "a", "0x0", "%00");
        String buckets = pick(r, "0", "1023", "1024", "-0", "-1", "", ",", "0,,1", "a", String.join(",", Collections.nCopies(300, "5")),
            "99999999999999", "0;1");
        return switch (r.nextInt(3)) {
          case 0 -> new Case("ae", HttpMethod.GET, "/internal/digests?peer=" + peer, headers, null, false);
          case 1 -> new Case("ae", HttpMethod.GET, "/internal/buckets?peer=" + peer + "&buckets=" + buckets, headers, null, false);
          default -> new Case("ae", HttpMethod.POST, "/internal/records", headers, pick(r, "[" + String.join(",",
              Collections.nCopies(10_001, "\"k\"")) + "]", "[1,2]", "{}", "[null]", "[\"" + key + "\"", "[[\"a\"]]", "\"k\"")
              .getBytes(StandardCharsets.UTF_8), false);
        };
      }
      case 14: { // odd headers on ordinary requests
        int n = 1 + r.nextInt(4);
        for (int h = 0; h < n; h++) {
          headers.add(pick(r, new String[] {"Authorization", "Bearer " + key}, new String[] {"X-Cluster-Token", key},
              new String[] {"Content-Encoding", "gzip"}, new String[] {"Accept", "application/xml;q=junk"},
              new String[] {"Cookie", "a=" + "c".repeat(r.nextInt(4000))}, new String[] {"X-Forwarded-For", "127.0.0.1, evil"},
              new String[] {"Range", "bytes=0-1"}, new String[] {"If-None-Match", "*"}, new String[] {"Accept-Encoding", "br, gzip, zstd"},
              new String[] {"X-HTTP-Method-Override", "DELETE"}, new String[] {"Origin", "http://evil.example"},
              new String[] {"Content-Type", "application/json"}, new String[] {"Content-Type", "text/html"}));
        }
        boolean write = r.nextBoolean();
        return new Case("headers", write ? HttpMethod.POST : HttpMethod.GET, write ? "/set" : "/get?key=" + key, headers,
            write ? Wire.setBody(key, "1").getBytes(StandardCharsets.UTF_8) : null, false);
      }
      default: { // ttl and consistency parameters on writes and reads
        String val = pick(r, "0", "-1", "1", "3153600000", "3153600001", "9223372036854775807", "9223372036854775808", "1.5",
            "one", "ONE", "All", "quorum ", "%00", "", "two", "1e2");
        String param = pick(r, "ttl", "w", "r");
        if (param.equals("r")) {
          return new Case("params", HttpMethod.GET, "/get?key=" + key + "&r=" + Wire.enc(val), headers, null, false);
        }
        return new Case("params", HttpMethod.POST, pick(r, "/set?", "/internal/set?") + param + "=" + Wire.enc(val), headers,
            Wire.setBody(key, "1").getBytes(StandardCharsets.UTF_8), false);
      }
    }
  }

  private static void contentType(Random r, List<String[]> headers) {
    String ct = CONTENT_TYPES[r.nextInt(CONTENT_TYPES.length)];
    if (ct != null) {
      headers.add(new String[] {"content-type", ct});
    }
  }

  private static String hostileKey(Random r) {
    if (r.nextInt(4) == 0) { // random unicode
      StringBuilder sb = new StringBuilder();
      int n = 1 + r.nextInt(40);
      for (int i = 0; i < n; i++) {
        int cp = r.nextInt(8) == 0 ? r.nextInt(0x20) : r.nextInt(4) == 0 ? 0x80 + r.nextInt(0x2000) : 0x20 + r.nextInt(0x5f);
        sb.appendCodePoint(cp);
      }
      return "fz-" + sb;
    }
    return HOSTILE_KEYS[r.nextInt(HOSTILE_KEYS.length)];
  }

  private static String randomQuery(Random r) {
    String alphabet = "abcdefghijklmnopqrstuvwxyzKEY0123456789=&%+;._-~!$'()*,:@/?";
    int n = r.nextInt(10) == 0 ? 1000 + r.nextInt(3000) : r.nextInt(80);
    StringBuilder sb = new StringBuilder();
    if (r.nextBoolean()) {
      sb.append(pick(r, "key=", "w=", "r=", "ttl=", "peer=", "buckets=", "version=", "key=&key=", "key"));
    }
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return sb.toString().replace("sentinel", "sentinal");
  }

  private static String randomJson(Random r, int depth) {
    int k = depth <= 0 ? r.nextInt(5) : r.nextInt(7);
    return switch (k) {
      case 0 -> Integer.toString(r.nextInt());
      case 1 -> io.vertx.core.json.Json.encode("s" + r.nextInt(1000) + (r.nextBoolean() ? "\u00e9\uD83D\uDD11" : ""));
      case 2 -> pick(r, "true", "false", "null");
      case 3 -> Double.toString(r.nextGaussian() * 1e6);
      case 4 -> "\"\\u0000\\n\\\"\"";
      case 5 -> {
        StringBuilder sb = new StringBuilder("[");
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
          sb.append(i > 0 ? "," : "").append(randomJson(r, depth - 1));
        }
        yield sb.append(']').toString();
      }
      default -> {
        StringBuilder sb = new StringBuilder("{");
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
          sb.append(i > 0 ? "," : "").append("\"f").append(i).append("\":").append(randomJson(r, depth - 1));
        }
        yield sb.append('}').toString();
      }
    };
  }

  private static byte[] mutate(Random r, byte[] in) {
    byte[] b = in;
    int ops = 1 + r.nextInt(4);
    for (int i = 0; i < ops && b.length > 0; i++) {
      int at = r.nextInt(b.length);
      switch (r.nextInt(5)) {
        case 0 -> b[at] = (byte) r.nextInt(256);
        case 1 -> b = concat(java.util.Arrays.copyOfRange(b, 0, at), java.util.Arrays.copyOfRange(b, Math.min(b.length, at + 1 + r.nextInt(8)), b.length));
        case 2 -> b = concat(java.util.Arrays.copyOfRange(b, 0, at), randomBytes(r, 1 + r.nextInt(6)), java.util.Arrays.copyOfRange(b, at, b.length));
        case 3 -> b = concat(b, java.util.Arrays.copyOfRange(b, at, b.length));
        default -> b = java.util.Arrays.copyOf(b, at);
      }
    }
    return b;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private static byte[] randomBytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  @SafeVarargs
  private static <T> T pick(Random r, T... options) {
    return options[r.nextInt(options.length)];
  }

  private static int pickInt(Random r, int... options) {
    return options[r.nextInt(options.length)];
  }

  // ---- raw cases -------------------------------------------------------------------------

  /** A raw request: {bytes, {1 if it is truncated and the client half-closes, else 0}}. */
  private static byte[][] rawCase(Random r) {
    String key = "fz-raw-" + r.nextInt(1_000_000);
    String valid = pick(r,
        "POST /set HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %LEN%\r\n\r\n" + Wire.setBody(key, "[1,2]"),
        "GET /get?key=" + key + " HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /internal/apply HTTP/1.1\r\nHost: x\r\nContent-Length: %LEN%\r\n\r\n[{\"key\":\"" + key
            + "\",\"value\":1,\"version\":\"1.0.0\"}]");
    valid = withLength(valid);
    byte[] validBytes = valid.getBytes(StandardCharsets.ISO_8859_1);
    switch (r.nextInt(9)) {
      case 0: { // garbage request line
        byte[] junk = randomBytes(r, 1 + r.nextInt(200));
        if (r.nextBoolean()) {
          for (int i = 0; i < junk.length; i++) {
            junk[i] = (byte) (0x20 + (junk[i] & 0x7f) % 0x5f);
          }
        }
        return raw(concat(junk, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)), false);
      }
      case 1: // truncated HTTP, half-closed
        return raw(java.util.Arrays.copyOf(validBytes, r.nextInt(validBytes.length)), true);
      case 2: // conflicting or broken framing
        return raw(ascii(pick(r,
            "POST /set HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /set HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}{}{}{",
            "POST /set HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            "POST /set HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "POST /set HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n",
            "POST /set HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            "POST /set HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
            "POST /set HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}",
            "POST /set HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "POST /set HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=\"x\r\n{}}\r\n0\r\n\r\n",
            "POST /set HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n")), false);
      case 3: { // control characters, traversal and spaces in the request target
        String target = pick(r, "/get?key=a\u0001b", "/get?key=../../etc/passwd", "/../../etc/passwd", "\\..\\..\\", "/get?key=a b",
            "/get?key=\u00ff\u00fe", "/get?key=%", "/internal/get?key=\u0000", "/set\u0000", "/get?key=a\tb", "*", "",
            "http://evil.example/get?key=" + key, "//evil.example/get", "/get?key=" + "x".repeat(9000), "/%", "/\u007f");
        String m = pick(r, "GET", "POST", "DELETE", "OPTIONS", "get", "G\u0000T", "GET GET");
        return raw(ascii(m + " " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), false);
      }
      case 4: { // protocol oddities (the HTTP/2 preface is half-closed: the server would wait for frames)
        String odd = pick(r, "GET /health\r\n\r\n", "GET /health HTTP/1.0\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "GET /health HTTP/1.1\n\n", "GET /health HTTP/1.1\r\n\r\n\r\n\r\n",
            "\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n", // (unknown HTTP versions such as HTTP/9.9 have their own test)
            "GET /health HTTP/1.1 extra\r\nHost: x\r\n\r\n", "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n");
        return raw(ascii(odd), odd.startsWith("PRI"));
      }
      case 5: // header anomalies
        return raw(ascii(pick(r, "GET /health HTTP/1.1\r\nHost x\r\n\r\n", "GET /health HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET /health HTTP/1.1\r\nX-A\u0000: b\r\n\r\n", "GET /health HTTP/1.1\r\nX-A: a\r\n folded\r\n\r\n",
            "GET /health HTTP/1.1\r\n: empty-name\r\n\r\n", "GET /get?key=x HTTP/1.1\r\nAuthorization: Bearer \u00ff\u00fe\r\n\r\n",
            "GET /health HTTP/1.1\r\n" + "X: y\r\n".repeat(3000) + "\r\n", "GET /health HTTP/1.1\r\nX-Big: " + "z".repeat(20_000) + "\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "GET /health HTTP/1.1\r\nX-\u00e9: \u00e9\r\n\r\n")), false);
      case 6: // pipelined: valid then garbage
        return raw(concat(validBytes, randomBytes(r, 1 + r.nextInt(100))), false);
      case 7: // Expect: 100-continue with the body sent anyway
        return raw(ascii(withLength("POST /set HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %LEN%\r\n\r\n"
            + Wire.setBody(key, "true"))), false);
      default: { // a valid request with random bytes spliced into the head
        int head = valid.indexOf("\r\n\r\n");
        int at = r.nextInt(Math.max(1, head));
        return raw(concat(java.util.Arrays.copyOf(validBytes, at), randomBytes(r, 1 + r.nextInt(8)),
            java.util.Arrays.copyOfRange(validBytes, at, validBytes.length)), r.nextInt(3) == 0);
      }
    }
  }

  private static String withLength(String request) {
    int head = request.indexOf("\r\n\r\n");
    int len = request.substring(head + 4).getBytes(StandardCharsets.ISO_8859_1).length;
    return request.replace("%LEN%", Integer.toString(len));
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static byte[][] raw(byte[] bytes, boolean truncated) {
    return new byte[][] {bytes, {(byte) (truncated ? 1 : 0)}};
  }
}
