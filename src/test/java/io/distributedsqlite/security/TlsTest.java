package io.distributedsqlite.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.distributedsqlite.config.ConfigException;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS_CERT_FILE / TLS_KEY_FILE / TLS_CA_FILE: every node serves HTTPS and talks HTTPS to its peers.
 * A CA and one node certificate for 127.0.0.1 are made with the openssl CLI for each run.
 */
class TlsTest {
  @TempDir static Path dir;
  private static Path certs;
  private static TestCluster cluster;
  private static Wire trusting;

  @BeforeAll
  static void makeCertificatesAndStartThreeTlsNodes() throws Exception {
    Assumptions.assumeTrue(onPath("openssl"), "openssl CLI not on PATH");
    certs = Files.createDirectories(dir.resolve("certs"));
    Files.writeString(certs.resolve("node.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        + "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        + "extendedKeyUsage=serverAuth,clientAuth\n");
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=distributed-sqlite test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=localhost");
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "node.pem", "-days", "2", "-extfile", "node.ext");
    trusting = new Wire(sslContextTrusting(certs.resolve("ca.pem")));
    cluster = TestCluster.start(3, 3, dir.resolve("nodes"), tlsEnv());
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static Map<String, String> tlsEnv() {
    return Map.of(
        "TLS_CERT_FILE", certs.resolve("node.pem").toString(),
        "TLS_KEY_FILE", certs.resolve("node.key").toString(),
        "TLS_CA_FILE", certs.resolve("ca.pem").toString());
  }

  private static String https(int i) {
    return "https://127.0.0.1:" + cluster.port(i);
  }

  @Test
  void writeAllAndReadAllOverHttpsReachEveryPeer() {
    List<String> bases = List.of(https(0), https(1), https(2));
    assertTrue(Await.poll(Duration.ofSeconds(20), () -> allUp(bases)), "every node sees every peer up over TLS");
    Wire.Resp w = trusting.call("POST", https(0) + "/set?w=all", Wire.setBody("tls-key", "{\"secret\":\"s\"}"));
    assertEquals(200, w.status(), w::toString);
    assertEquals(3, w.json().getJsonObject("consistency").getInteger("acked"), w::toString);
    Wire.Resp r = trusting.call("GET", https(1) + "/get?key=tls-key&r=all", null);
    assertEquals(200, r.status(), r::toString);
    assertTrue(r.body().contains("\"value\":{\"secret\":\"s\"},"), r::toString);
    assertEquals(3, r.json().getJsonObject("consistency").getInteger("answered"), r::toString);
    for (int i = 0; i < 3; i++) {
      Wire.Resp local = trusting.call("GET", https(i) + "/internal/get?key=tls-key", null);
      assertEquals(200, local.status(), "node " + i + " holds the write: " + local);
    }
  }

  private static boolean allUp(List<String> bases) {
    for (String base : bases) {
      Wire.Resp r = trusting.call("GET", base + "/cluster", null);
      JsonObject view = r.status() == 200 ? r.json() : null;
      if (view == null || view.getJsonArray("nodes") == null) {
        return false;
      }
      for (Object n : view.getJsonArray("nodes")) {
        if (!(n instanceof JsonObject node) || !"up".equals(node.getString("state"))) {
          return false;
        }
      }
    }
    return true;
  }

  @Test
  void theImagesHealthCheckUsesHttpsWhenTlsIsOn() throws Exception {
    assertEquals(0, healthCheck(Map.of("PORT", Integer.toString(cluster.port(0)),
        "TLS_CERT_FILE", certs.resolve("node.pem").toString())), "src/main/docker/healthcheck.sh with TLS_CERT_FILE");
    assertNotEquals(0, healthCheck(Map.of("PORT", Integer.toString(cluster.port(0)))),
        "without TLS_CERT_FILE the check speaks plain HTTP, which a TLS node does not answer");
  }

  /** Runs the image's HEALTHCHECK script (curl) against a node of this JVM; its exit code. */
  private static int healthCheck(Map<String, String> env) throws Exception {
    Path root = Path.of("").toAbsolutePath();
    ProcessBuilder pb = new ProcessBuilder("sh", root.resolve("src/main/docker/healthcheck.sh").toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("healthcheck.out").toFile());
    pb.environment().remove("TLS_CERT_FILE");
    pb.environment().putAll(env);
    Process p = pb.start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "health check finished");
    return p.exitValue();
  }

  @Test
  void plainHttpToATlsPortGetsNoAnswer() {
    Wire.Resp plain = new Wire().call("GET", cluster.baseUrl(0) + "/health", null);
    assertNotEquals(200, plain.status(), () -> "plain HTTP was served: " + plain);
    assertTrue(plain.status() == 0 || plain.status() >= 400, plain::toString);
  }

  @Test
  void aClientThatDoesNotTrustTheCaFailsTheHandshake() throws Exception {
    Wire untrusting = new Wire(SSLContext.getDefault());
    IOException e = assertThrows(IOException.class, () -> untrusting.send("GET", https(0) + "/health", null));
    assertTrue(hasCause(e, SSLException.class), () -> "expected a TLS handshake failure, got " + e);

    // a CA of its own that did not sign the node certificate is no better
    Path otherCa = dir.resolve("other");
    Files.createDirectories(otherCa);
    openssl(otherCa, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=another CA");
    Wire wrongCa = new Wire(sslContextTrusting(otherCa.resolve("ca.pem")));
    IOException e2 = assertThrows(IOException.class, () -> wrongCa.send("GET", https(0) + "/health", null));
    assertTrue(hasCause(e2, SSLException.class), () -> "expected a TLS handshake failure, got " + e2);
  }

  @Test
  void withPeerMtlsPeersReplicateOverMutualTlsAndInternalRoutesRefuseCallersWithoutACertificate() throws Exception {
    Map<String, String> env = new HashMap<>(tlsEnv());
    env.put("PEER_MTLS", "true");
    openssl("pkcs12", "-export", "-in", "node.pem", "-inkey", "node.key", "-out", "node.p12", "-passout", "pass:test");
    try (TestCluster mtls = TestCluster.start(2, 2, dir.resolve("mtls-nodes"), env)) {
      String n0 = "https://127.0.0.1:" + mtls.port(0);
      String n1 = "https://127.0.0.1:" + mtls.port(1);
      // w=all is met only when node 1 accepted node 0's client certificate on /internal/apply.
      Wire.Resp[] last = new Wire.Resp[1];
      assertTrue(Await.poll(Duration.ofSeconds(30), () -> {
        last[0] = trusting.call("POST", n0 + "/set?w=all", Wire.setBody("mtls-key", "1"));
        return last[0].status() == 200;
      }), () -> "peers reach each other with client certificates: " + last[0]);
      Wire.Resp w = last[0];
      assertEquals(2, w.json().getJsonObject("consistency").getInteger("acked"), w::toString);
      assertEquals(200, trusting.call("GET", n1 + "/get?key=mtls-key&r=one", null).status(), "the client API needs no certificate");

      Wire.Resp noCert = trusting.call("GET", n1 + "/internal/get?key=mtls-key", null);
      assertEquals(401, noCert.status(), noCert::toString);
      assertEquals("peer_certificate_required", noCert.json().getString("error"), noCert::toString);
      Wire.Resp noCertApply = trusting.call("POST", n1 + "/internal/apply",
          "[{\"key\":\"mtls-key\",\"value\":2,\"version\":\"4000000000000.0.0\",\"tombstone\":false}]");
      assertEquals(401, noCertApply.status(), noCertApply::toString);

      Wire withCert = new Wire(sslContext(certs.resolve("ca.pem"), certs.resolve("node.p12")));
      Wire.Resp peer = withCert.call("GET", n1 + "/internal/get?key=mtls-key", null);
      assertEquals(200, peer.status(), "a caller with a CA-signed certificate is a peer: " + peer);
      assertEquals("1", String.valueOf(peer.json().getValue("value")), peer::toString);

      // a certificate from another CA does not make a peer: the TLS stack either fails the
      // handshake or carries on without a verified client certificate, and the route refuses
      Path other = Files.createDirectories(dir.resolve("other-client"));
      openssl(other, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=intruder");
      openssl(other, "pkcs12", "-export", "-in", "self.pem", "-inkey", "self.key", "-out", "self.p12", "-passout", "pass:test");
      Wire intruder = new Wire(sslContext(certs.resolve("ca.pem"), other.resolve("self.p12")));
      Wire.Resp refused = intruder.call("GET", n1 + "/internal/get?key=mtls-key", null);
      assertTrue(refused.status() == 0 || refused.status() == 401, refused::toString);
      if (refused.status() == 401) {
        assertEquals("peer_certificate_required", refused.json().getString("error"), refused::toString);
      }
    }
  }

  @Test
  void peerMtlsWithoutTlsIsRefusedAtStartUp() {
    ConfigException e = assertThrows(ConfigException.class, () -> config(Map.of("PEER_MTLS", "true")));
    assertTrue(e.getMessage().contains("PEER_MTLS"), e::getMessage);
  }

  @Test
  void tlsNeedsAllThreeFilesThatAreReadable() {
    String cert = certs.resolve("node.pem").toString();
    String key = certs.resolve("node.key").toString();
    String ca = certs.resolve("ca.pem").toString();
    List<Map<String, String>> partial = List.of(
        Map.of("TLS_CERT_FILE", cert),
        Map.of("TLS_KEY_FILE", key),
        Map.of("TLS_CA_FILE", ca),
        Map.of("TLS_CERT_FILE", cert, "TLS_KEY_FILE", key),
        Map.of("TLS_CERT_FILE", cert, "TLS_CA_FILE", ca),
        Map.of("TLS_KEY_FILE", key, "TLS_CA_FILE", ca));
    for (Map<String, String> tls : partial) {
      ConfigException e = assertThrows(ConfigException.class, () -> config(tls), tls::toString);
      assertTrue(e.getMessage().contains("TLS"), e::getMessage);
    }
    ConfigException missing = assertThrows(ConfigException.class, () -> config(Map.of(
        "TLS_CERT_FILE", cert, "TLS_KEY_FILE", certs.resolve("nope.key").toString(), "TLS_CA_FILE", ca)));
    assertTrue(missing.getMessage().contains("nope.key"), missing::getMessage);
    assertTrue(config(tlsEnv()).tls().isPresent());
    assertTrue(config(Map.of()).tls().isEmpty());
  }

  // ---- plumbing --------------------------------------------------------------------------

  private static NodeConfig config(Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(Map.of("NODE_ID", "0", "PORT", "18443"));
    env.putAll(extra);
    return NodeConfig.fromEnvironment(env);
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  static SSLContext sslContextTrusting(Path caPem) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(caPem)) {
      int i = 0;
      for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca-" + i++, (X509Certificate) cert);
      }
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /** Trusts {@code caPem} and presents the certificate and key of a PKCS#12 file (password "test"). */
  private static SSLContext sslContext(Path caPem, Path p12) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      keys.load(in, "test".toCharArray());
    }
    javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, "test".toCharArray());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(caPem)) {
      trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }

  private static boolean onPath(String exe) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String d : path.split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, exe))) {
        return true;
      }
    }
    return false;
  }

  private static void openssl(String... args) throws Exception {
    openssl(certs, args);
  }

  private static void openssl(Path workDir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      fail("openssl " + String.join(" ", args) + " failed: " + new String(out));
    }
  }
}
