package io.distributedsqlite.http;

import io.distributedsqlite.config.NodeConfig;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Guards {@code /internal/*}: with PEER_MTLS on, a caller must present a client certificate signed
 * by the cluster's CA; with CLUSTER_TOKEN set, it must carry the token in {@value #TOKEN_HEADER}.
 * Otherwise 401 and nothing behind it runs. Mount it before every {@code /internal/*} route.
 */
final class PeerAuthentication {
  static final String TOKEN_HEADER = "X-Cluster-Token";

  private final byte[] token;
  private final boolean peerMtls;

  PeerAuthentication(NodeConfig config) {
    this.token = config.clusterToken().map(t -> t.getBytes(StandardCharsets.UTF_8)).orElse(null);
    this.peerMtls = config.tls().map(t -> t.peerMtls()).orElse(false);
  }

  void mount(Router router) {
    router.route("/internal/*").handler(this::authenticate);
  }

  private void authenticate(RoutingContext ctx) {
    if (peerMtls && !hasVerifiedClientCertificate(ctx)) {
      Responses.error(ctx, 401, "peer_certificate_required", "PEER_MTLS is on: /internal/* needs a client certificate signed by the cluster's CA");
      return;
    }
    if (token != null) {
      String given = ctx.request().getHeader(TOKEN_HEADER);
      if (given == null || !MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8))) {
        Responses.error(ctx, 401, "unauthorized", "missing or wrong " + TOKEN_HEADER);
        return;
      }
    }
    ctx.next();
  }

  /** The TLS handshake already checked the certificate against the CA; here only its presence. */
  private static boolean hasVerifiedClientCertificate(RoutingContext ctx) {
    if (!ctx.request().isSSL()) {
      return false;
    }
    try {
      return !ctx.request().connection().peerCertificates().isEmpty();
    } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
      return false;
    }
  }
}
