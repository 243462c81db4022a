package io.distributedsqlite.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.Node;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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

/**
 * CLUSTER_TOKEN guards {@code /internal/*}: without the right {@code X-Cluster-Token} every route
 * answers 401 with the JSON error shape and nothing is applied; peers that share the token
 * replicate, a peer with another token cannot.
 */
class ClusterTokenTest {
  private static final String TOKEN = "cluster-token-0123456789-abcdef";
  private static final String HEADER = "X-Cluster-Token";

  @TempDir static Path dir;
  private static TestCluster cluster;
  private static final Wire http = new Wire();

  @BeforeAll
  static void startThreeNodesSharingTheToken() {
    cluster = TestCluster.start(3, 3, dir, Map.of("CLUSTER_TOKEN", TOKEN));
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static String base(int i) {
    return cluster.baseUrl(i);
  }

  private static String version() {
    return "\"" + System.currentTimeMillis() + ".0.2\"";
  }

  /** Every internal route, with a request that succeeds when the token is right. */
  record Route(String method, String uri, String body) {}

  static Stream<Arguments> internalRoutes() {
    String v = version();
    return Stream.of(
        Arguments.of(Named.of("GET /internal/ping", new Route("GET", "/internal/ping", null))),
        Arguments.of(Named.of("GET /internal/get", new Route("GET", "/internal/get?key=tok-any", null))),
        Arguments.of(Named.of("POST /internal/apply", new Route("POST", "/internal/apply",
            "[{\"key\":\"tok-route-apply\",\"value\":1,\"version\":" + v + ",\"tombstone\":false,\"expires_at\":0}]"))),
        Arguments.of(Named.of("POST /internal/set (versioned)", new Route("POST", "/internal/set",
            "{\"key\":\"tok-route-set\",\"value\":1,\"version\":" + v + "}"))),
        Arguments.of(Named.of("POST /internal/set (legacy)", new Route("POST", "/internal/set",
            "{\"key\":\"tok-route-legacy\",\"value\":1}"))),
        Arguments.of(Named.of("DELETE /internal/delete (versioned)", new Route("DELETE",
            "/internal/delete?key=tok-route-del&version=" + v.replace("\"", ""), null))),
        Arguments.of(Named.of("DELETE /internal/delete (legacy)", new Route("DELETE", "/internal/delete?key=tok-route-ldel", null))),
        Arguments.of(Named.of("GET /internal/digests", new Route("GET", "/internal/digests?peer=1", null))),
        Arguments.of(Named.of("GET /internal/buckets", new Route("GET", "/internal/buckets?peer=1&buckets=0,1,2", null))),
        Arguments.of(Named.of("POST /internal/records", new Route("POST", "/internal/records", "[\"tok-any\"]"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("internalRoutes")
  void everyInternalRouteRefusesAMissingOrWrongTokenWith401(Route r) {
    List<String[]> wrongHeaders = List.of(
        new String[0],
        new String[] {HEADER, "wrong"},
        new String[] {HEADER, TOKEN + "x"},
        new String[] {HEADER, TOKEN.substring(0, TOKEN.length() - 1) + "X"},
        new String[] {HEADER, TOKEN.substring(1)},
        new String[] {HEADER, TOKEN.toUpperCase()},
        new String[] {"Authorization", "Bearer " + TOKEN});
    for (String[] h : wrongHeaders) {
      Wire.Resp res = http.call(r.method(), base(0) + r.uri(), r.body(), withJson(r, h));
      String what = h.length == 0 ? "no token" : h[0] + ": " + h[1];
      assertEquals(401, res.status(), () -> r.method() + " " + r.uri() + " with " + what + ": " + res);
      assertTrue(res.isJsonError(), () -> "JSON error shape with " + what + ": " + res);
      assertEquals("unauthorized", res.json().getString("error"));
    }
    Wire.Resp ok = http.call(r.method(), base(0) + r.uri(), r.body(), withJson(r, HEADER, TOKEN));
    assertTrue(ok.status() == 200 || (r.uri().startsWith("/internal/get") && ok.status() == 404),
        () -> "with the right token " + r.method() + " " + r.uri() + " works: " + ok);
  }

  private static String[] withJson(Route r, String... headers) {
    if (r.body() == null) {
      return headers;
    }
    String[] h = java.util.Arrays.copyOf(headers, headers.length + 2);
    h[headers.length] = "content-type";
    h[headers.length + 1] = "application/json";
    return h;
  }

  @Test
  void writesWithoutTheTokenApplyNothing() {
    String v = version();
    String applyBody = "[{\"key\":\"tok-nothing-apply\",\"value\":{\"evil\":true},\"version\":" + v + ",\"tombstone\":false,\"expires_at\":0}]";
    assertEquals(401, http.call("POST", base(0) + "/internal/apply", applyBody, "content-type", "application/json").status());
    assertEquals(401, http.call("POST", base(0) + "/internal/apply", applyBody, "content-type", "application/json", HEADER, "nope").status());
    assertEquals(401, http.call("POST", base(0) + "/internal/set",
        "{\"key\":\"tok-nothing-set\",\"value\":1,\"version\":" + v + "}", "content-type", "application/json").status());
    assertEquals(401, http.call("POST", base(0) + "/internal/set", "{\"key\":\"tok-nothing-legacy\",\"value\":1}").status());

    // a sentinel that unauthenticated deletes must not touch
    Wire.Resp put = http.call("POST", base(0) + "/set?w=all", Wire.setBody("tok-sentinel", "{\"keep\":1}"));
    assertEquals(200, put.status(), put::toString);
    String before = local(0, "tok-sentinel").body();
    assertEquals(401, http.call("DELETE", base(0) + "/internal/delete?key=tok-sentinel&version="
        + (System.currentTimeMillis() + 1000) + ".0.2", null).status());
    assertEquals(401, http.call("DELETE", base(0) + "/internal/delete?key=tok-sentinel", null, HEADER, "nope").status());
    assertEquals(401, http.call("POST", base(0) + "/internal/apply", "[{\"key\":\"tok-sentinel\",\"value\":null,\"version\":\""
        + (System.currentTimeMillis() + 1000) + ".0.2\",\"tombstone\":true,\"expires_at\":0}]").status());

    for (int i = 0; i < 3; i++) {
      for (String key : List.of("tok-nothing-apply", "tok-nothing-set", "tok-nothing-legacy")) {
        Wire.Resp r = local(i, key);
        assertEquals(404, r.status(), "node " + i + " holds nothing for " + key + ": " + r);
      }
      Wire.Resp s = local(i, "tok-sentinel");
      assertEquals(200, s.status(), s::toString);
      assertEquals(withoutNodeId(before), withoutNodeId(s.body()), "sentinel unchanged on node " + i);
    }
  }

  @Test
  void peersSharingTheTokenReplicateAWriteAll() {
    Wire.Resp w = http.call("POST", base(1) + "/set?w=all", Wire.setBody("tok-replicated", "[1,\"two\"]"));
    assertEquals(200, w.status(), w::toString);
    assertEquals(3, w.json().getJsonObject("consistency").getInteger("acked"));
    for (int i = 0; i < 3; i++) {
      Wire.Resp r = local(i, "tok-replicated");
      assertEquals(200, r.status(), "node " + i + ": " + r);
      assertTrue(r.body().contains("\"value\":[1,\"two\"],"), () -> "value on node " + r);
    }
    Wire.Resp read = http.call("GET", base(2) + "/get?key=tok-replicated&r=all", null);
    assertEquals(200, read.status(), read::toString);
  }

  @Test
  void aNodeWithAnotherTokenCannotReplicateToItsPeers(@TempDir Path other) throws Exception {
    try (TestCluster c = TestCluster.start(3, 3, other, Map.of("CLUSTER_TOKEN", TOKEN))) {
      c.stopNode(0);
      Map<String, String> env = new java.util.HashMap<>(c.env(0));
      env.put("CLUSTER_TOKEN", "a-different-cluster-token-987654");
      Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2).setWorkerPoolSize(4));
      Node odd = Node.start(vertx, NodeConfig.fromEnvironment(env)).await(30, TimeUnit.SECONDS);
      try {
        Wire.Resp w = http.call("POST", c.baseUrl(0) + "/set?w=all", Wire.setBody("tok-mismatch", "1"));
        assertEquals(503, w.status(), () -> "w=all from the odd node: " + w);
        // Its probes get 401 too, so it never measures its clock offset to a majority and
        // coordinates no write at all.
        assertEquals("clock_offset", w.json().getString("error"), w::toString);
        for (int i = 1; i < 3; i++) {
          Wire.Resp r = http.call("GET", c.baseUrl(i) + "/internal/get?key=tok-mismatch", null, HEADER, TOKEN);
          assertEquals(404, r.status(), "node " + i + " got nothing from the odd node: " + r);
        }
        // and the other way round: the odd node refuses its peers' replication
        Wire.Resp back = http.call("POST", c.baseUrl(1) + "/set?w=all", Wire.setBody("tok-mismatch-2", "2"));
        assertEquals(503, back.status(), () -> "w=all towards the odd node: " + back);
        Wire.Resp onOdd = http.call("GET", c.baseUrl(0) + "/internal/get?key=tok-mismatch-2", null,
            HEADER, "a-different-cluster-token-987654");
        assertEquals(404, onOdd.status(), onOdd::toString);
        assertNotEquals(200, http.call("GET", c.baseUrl(0) + "/internal/ping", null, HEADER, TOKEN).status());
      } finally {
        odd.stop().eventually(() -> vertx.close()).await(30, TimeUnit.SECONDS);
      }
    }
  }

  private static String withoutNodeId(String body) {
    return body.replaceAll(",\"node_id\":\"[^\"]*\"", "");
  }

  private static Wire.Resp local(int node, String key) {
    return http.call("GET", base(node) + "/internal/get?key=" + Wire.enc(key), null, HEADER, TOKEN);
  }
}
