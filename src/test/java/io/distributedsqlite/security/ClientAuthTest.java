package io.distributedsqlite.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.config.ApiTokens;
import io.distributedsqlite.config.ConfigException;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.support.TestCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * API_TOKENS / API_TOKENS_FILE: the client API needs {@code Authorization: Bearer <token>}; none or
 * an unknown one is 401 with {@code WWW-Authenticate: Bearer}, a read-only token on a write is 403,
 * and health, readiness and metrics stay open.
 */
class ClientAuthTest {
  private static final String RO = "read-only-token-0123456789";
  private static final String RW = "read-write-token-abcdefghij";

  @TempDir static Path dir;
  private static TestCluster cluster;
  private static final Wire http = new Wire();

  @BeforeAll
  static void startNodeWithTokens() throws Exception {
    cluster = TestCluster.start(1, 1, dir.resolve("inline"), Map.of("API_TOKENS", RO + ":ro," + RW + ":rw"));
    Wire.Resp seeded = http.send("POST", url("/set"), Wire.setBody("auth-existing", "{\"v\":1}"), bearer(RW));
    assertEquals(200, seeded.status(), seeded::toString);
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static String url(String pathAndQuery) {
    return cluster.baseUrl(0) + pathAndQuery;
  }

  private static String[] bearer(String token) {
    return new String[] {"Authorization", "Bearer " + token};
  }

  /** Each protected route as method, path, body. */
  private static final List<String[]> PROTECTED = List.of(
      new String[] {"POST", "/set", Wire.setBody("auth-unauth", "1")},
      new String[] {"DELETE", "/delete?key=auth-existing", null},
      new String[] {"GET", "/get?key=auth-existing", null},
      new String[] {"GET", "/cluster", null},
      new String[] {"POST", "/admin/repair", null},
      new String[] {"GET", "/admin/repair", null});

  @Test
  void requestsWithoutATokenGet401WithABearerChallenge() {
    for (String[] r : PROTECTED) {
      Wire.Resp res = http.call(r[0], url(r[1]), r[2]);
      assertUnauthorized(res, r[0] + " " + r[1] + " without Authorization");
    }
  }

  @Test
  void unknownOrMalformedCredentialsGet401() {
    List<String[]> bad = List.of(
        bearer("unknown-token-000000000000"),
        bearer(RW + "x"),
        bearer(RW.substring(1)),
        bearer(""),
        new String[] {"Authorization", RW},
        new String[] {"Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(("x:" + RW).getBytes())},
        new String[] {"Authorization", "Token " + RW},
        new String[] {"X-Api-Token", RW},
        new String[] {"X-Cluster-Token", RW});
    for (String[] r : PROTECTED) {
      for (String[] h : bad) {
        Wire.Resp res = http.call(r[0], url(r[1]), r[2], h);
        assertUnauthorized(res, r[0] + " " + r[1] + " with " + h[0] + ": " + h[1]);
      }
    }
    assertEquals(404, http.call("GET", url("/get?key=auth-unauth"), null, bearer(RW)).status(), "refused write stored nothing");
    assertEquals(200, http.call("GET", url("/get?key=auth-existing"), null, bearer(RW)).status(), "refused delete removed nothing");
  }

  private static void assertUnauthorized(Wire.Resp res, String what) {
    assertEquals(401, res.status(), () -> what + ": " + res);
    assertTrue(res.header("WWW-Authenticate").map(v -> v.startsWith("Bearer")).orElse(false),
        () -> what + ": WWW-Authenticate " + res.header("WWW-Authenticate"));
    assertTrue(res.isJsonError(), () -> what + ": JSON error " + res);
    assertEquals("unauthorized", res.json().getString("error"));
  }

  @Test
  void readOnlyTokenReadsButCannotWrite() {
    assertEquals(200, http.call("GET", url("/get?key=auth-existing"), null, bearer(RO)).status());
    assertEquals(404, http.call("GET", url("/get?key=auth-absent"), null, bearer(RO)).status());
    assertEquals(200, http.call("GET", url("/cluster"), null, bearer(RO)).status());

    Wire.Resp set = http.call("POST", url("/set"), Wire.setBody("auth-ro-write", "1"), bearer(RO));
    assertForbidden(set, "/set with a read-only token");
    Wire.Resp del = http.call("DELETE", url("/delete?key=auth-existing"), null, bearer(RO));
    assertForbidden(del, "/delete with a read-only token");
    assertForbidden(http.call("POST", url("/admin/repair"), null, bearer(RO)), "/admin/repair with a read-only token");

    assertEquals(404, http.call("GET", url("/get?key=auth-ro-write"), null, bearer(RW)).status(), "forbidden write stored nothing");
    Wire.Resp still = http.call("GET", url("/get?key=auth-existing"), null, bearer(RW));
    assertEquals(200, still.status(), "forbidden delete removed nothing: " + still);
  }

  private static void assertForbidden(Wire.Resp res, String what) {
    assertEquals(403, res.status(), () -> what + ": " + res);
    assertTrue(res.isJsonError(), () -> what + ": JSON error " + res);
    assertEquals("forbidden", res.json().getString("error"));
  }

  @Test
  void readWriteTokenCanDoEverything() {
    assertEquals(200, http.call("POST", url("/set"), Wire.setBody("auth-rw", "[1,2]"), bearer(RW)).status());
    Wire.Resp got = http.call("GET", url("/get?key=auth-rw"), null, bearer(RW));
    assertEquals(200, got.status(), got::toString);
    assertTrue(got.body().contains("\"value\":[1,2],"), got::toString);
    assertEquals(200, http.call("GET", url("/cluster"), null, bearer(RW)).status());
    Wire.Resp repair = http.call("POST", url("/admin/repair?wait=1m"), null, bearer(RW));
    assertEquals(200, repair.status(), repair::toString);
    assertEquals(200, http.call("DELETE", url("/delete?key=auth-rw"), null, bearer(RW)).status());
    assertEquals(404, http.call("GET", url("/get?key=auth-rw"), null, bearer(RW)).status());
    // RFC 7235: the scheme name is case-insensitive
    assertEquals(404, http.call("GET", url("/get?key=auth-rw"), null, "Authorization", "bearer " + RW).status());
  }

  @Test
  void healthReadinessAndMetricsNeedNoToken() {
    Wire.Resp health = http.call("GET", url("/health"), null);
    assertEquals(200, health.status(), health::toString);
    assertEquals(200, http.call("GET", url("/ready"), null).status());
    Wire.Resp metrics = http.call("GET", url("/metrics"), null);
    assertEquals(200, metrics.status());
    assertTrue(metrics.body().contains("# TYPE"), "Prometheus text");
  }

  @Test
  void tokensFromAFileWork(@TempDir Path tmp) throws Exception {
    String fileRw = "file-rw-token-0123456789abc";
    String fileRo = "file-ro-token-0123456789abc";
    Path file = tmp.resolve("tokens");
    Files.writeString(file, "# client tokens\n\n" + fileRw + " rw\n   \n  # indented comment\n\t" + fileRo + "   ro  \n");
    try (TestCluster c = TestCluster.start(1, 1, tmp.resolve("node"), Map.of("API_TOKENS_FILE", file.toString()))) {
      String base = c.baseUrl(0);
      assertUnauthorized(http.call("GET", base + "/get?key=f", null), "file node without a token");
      assertUnauthorized(http.call("GET", base + "/get?key=f", null, bearer(RW)), "file node with a token it does not know");
      assertEquals(200, http.call("POST", base + "/set", Wire.setBody("f", "true"), bearer(fileRw)).status());
      assertEquals(200, http.call("GET", base + "/get?key=f", null, bearer(fileRo)).status());
      assertForbidden(http.call("POST", base + "/set", Wire.setBody("f", "false"), bearer(fileRo)), "file ro token writing");
      assertEquals(200, http.call("GET", base + "/health", null).status());
    }
  }

  @Test
  void inlineAndFileTokensCombine(@TempDir Path tmp) throws Exception {
    Path file = tmp.resolve("tokens");
    Files.writeString(file, "file-only-token-0123456789 ro\n");
    ApiTokens tokens = config(Map.of("API_TOKENS", RW + ":rw", "API_TOKENS_FILE", file.toString())).apiTokens();
    assertTrue(tokens.enabled());
    assertEquals(Optional.of(ApiTokens.Access.READ_WRITE), tokens.access(RW));
    assertEquals(Optional.of(ApiTokens.Access.READ), tokens.access("file-only-token-0123456789"));
    assertEquals(Optional.empty(), tokens.access(RO));
    assertEquals(Optional.empty(), tokens.access(null));
    assertTrue(!config(Map.of()).apiTokens().enabled(), "no tokens: auth off");
  }

  @Test
  void badTokenSettingsStopTheNodeWithAConfigException(@TempDir Path tmp) throws Exception {
    List<String> badInline = List.of(
        "short:rw",                              // under 16 characters
        "fifteen-chars-x:rw",                    // 15
        RW + ":admin",                           // bad access word
        RW + ":RW",                              // access words are lower case
        RW + ":",                                // no access word
        RW,                                      // no colon
        ":rw",                                   // no token
        "token with spaces inside:rw",           // not printable without spaces
        "tøken-with-non-ascii-chars:rw",
        RO + ":ro,short:rw");                    // one bad entry spoils the list
    for (String v : badInline) {
      ConfigException e = assertThrows(ConfigException.class, () -> config(Map.of("API_TOKENS", v)), () -> "API_TOKENS=" + v);
      assertTrue(e.getMessage().contains("API_TOKENS"), e::getMessage);
    }
    Path shortToken = tmp.resolve("short");
    Files.writeString(shortToken, "# ok\nshort rw\n");
    Path badWord = tmp.resolve("badword");
    Files.writeString(badWord, RW + " write\n");
    Path threeParts = tmp.resolve("three");
    Files.writeString(threeParts, RW + " rw extra\n");
    Path colonForm = tmp.resolve("colon");
    Files.writeString(colonForm, RW + ":rw\n");
    for (Path p : List.of(shortToken, badWord, threeParts, colonForm, tmp.resolve("missing"))) {
      ConfigException e = assertThrows(ConfigException.class, () -> config(Map.of("API_TOKENS_FILE", p.toString())), p::toString);
      assertTrue(e.getMessage().contains("API_TOKENS_FILE"), e::getMessage);
    }
  }

  private static NodeConfig config(Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(Map.of("NODE_ID", "0", "PORT", "18080"));
    env.putAll(extra);
    return NodeConfig.fromEnvironment(env);
  }
}
