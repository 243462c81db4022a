package io.distributedsqlite.http;

import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.cluster.PeerView;
import io.distributedsqlite.read.ReadCoordinator;
import io.distributedsqlite.read.ScanCoordinator;
import io.distributedsqlite.replication.WriteCoordinator;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.TimeoutHandler;
import java.util.concurrent.TimeUnit;

/**
 * The node's HTTP face, one instance per core (all share the port). Routes, validation, JSON
 * errors; never blocks: client writes and reads are coordinated on this instance's own event loop
 * ({@link WriteCoordinator}, {@link ReadCoordinator}), local records come from the read pool and
 * commits from the storage worker, all as futures.
 */
public final class HttpVerticle extends VerticleBase {
  private final NodeServices services;
  private HttpServer server;
  private PeerClient peers;

  public HttpVerticle(NodeServices services) {
    this.services = services;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.route().handler(new RequestMetrics(services.registry())::handle);
    // A request that is not answered within REQUEST_TIMEOUT gets 503 instead of hanging.
    // (/admin/repair is exempt: a full rebuild legitimately takes longer.)
    TimeoutHandler timeout = TimeoutHandler.create(services.config().requestTimeout().toMillis(), 503);
    router.route().handler(ctx -> {
      if (ctx.request().path().startsWith("/admin/")) {
        ctx.next();
      } else {
        timeout.handle(ctx);
      }
    });
    // A stale or checking replica serves nothing but its health, readiness, metrics and view.
    ReplicaGate gate = new ReplicaGate(services.health());
    router.route().handler(gate::handle);
    // The coordinators live on this instance's event loop, beside the requests they serve, and
    // share its one view of which peers are up.
    peers = new PeerClient(vertx, services.config(), services.view());
    PeerView view = PeerView.follow(vertx);
    WriteCoordinator writes = new WriteCoordinator(vertx, services.config(), services.view(), services.offsets(), peers, view,
        services.registry());
    ReadCoordinator reads = new ReadCoordinator(vertx, services.config(), services.view(), services.reader(), peers, view,
        services.clock(), services.registry(), services.health()::answersReads);
    ScanCoordinator scans = new ScanCoordinator(vertx, services.config(), services.view(), services.reader(), peers,
        view, () -> !services.health().answersReads(), services.registry());
    WriteAnswer writeAnswer = new WriteAnswer(services.config().nodeName());
    new ClientRoutes(services.config(), writes, reads, writeAnswer).mount(router);
    // Peer traffic: authenticated first, refused when the sender's membership view differs, then
    // routed by who asks.
    new PeerAuthentication(services.config()).mount(router);
    new ViewCheck(services.view(), services.config().peerTimeout()).mount(router);
    LocalApply local = new LocalApply(vertx, services.config().nodeName());
    OwnRecords own = new OwnRecords(services);
    new MembershipRoutes(services).mount(router);
    MembershipChangeRoutes changes = new MembershipChangeRoutes(vertx, services);
    changes.mountInternal(router);
    new ReplicaRoutes(services, local, own, gate).mount(router);
    new RepairRoutes(services, own).mount(router);
    new LegacyRoutes(services, writes, local, writeAnswer).mount(router);
    new OpsRoutes(vertx, services).mount(router);
    new ScanRoutes(services, scans, gate).mount(router);
    new BatchRoutes(services.config(), writes).mount(router);
    new AdminRoutes(vertx, services).mount(router);
    changes.mountAdmin(router);
    router.errorHandler(404, ctx -> Responses.error(ctx, 404, "not_found", "no route " + ctx.request().method() + " " + safePath(ctx)));
    router.errorHandler(405, ctx -> Responses.error(ctx, 405, "method_not_allowed", ctx.request().method() + " is not allowed on " + safePath(ctx)));
    router.errorHandler(400, ctx -> Responses.error(ctx, 400, "bad_request", "the request could not be read"));
    router.errorHandler(503, ctx -> Responses.error(ctx, 503, "timeout", "the request did not finish within REQUEST_TIMEOUT"));
    router.errorHandler(500, ctx -> Responses.fail(ctx, ctx.failure() == null ? new RuntimeException("unknown") : ctx.failure()));
    HttpServerOptions options = new HttpServerOptions()
        .setHost(services.config().host())
        .setPort(services.config().port())
        .setMaxHeaderSize(16 * 1024)
        .setMaxInitialLineLength(8 * 1024)
        .setIdleTimeout((int) services.config().idleTimeout().toSeconds())
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setTcpNoDelay(true)
        // HTTP/1.1 only: the header and request-line limits above do not apply to cleartext HTTP/2.
        .setHttp2ClearTextEnabled(false);
    services.config().tls().ifPresent(tls -> {
      options.setSsl(true).setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions()
          .setCertPath(tls.certFile().toString()).setKeyPath(tls.keyFile().toString()));
      if (tls.peerMtls()) {
        // Asked, not required: clients of the public API have no certificate. A certificate that
        // is presented must be signed by the CA (else the handshake fails); /internal/* requires one.
        options.setClientAuth(io.vertx.core.http.ClientAuth.REQUEST)
            .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(tls.caFile().toString()));
      }
    });
    server = vertx.createHttpServer(options).requestHandler(router).invalidRequestHandler(HttpVerticle::invalidRequest);
    return server.listen();
  }

  /** Stops accepting and lets in-flight requests finish (up to SHUTDOWN_TIMEOUT). */
  @Override
  public Future<?> stop() {
    return server.shutdown(services.config().shutdownTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .andThen(ar -> peers.close());
  }

  /** Requests the HTTP decoder could not read get the JSON error shape too, then the connection closes. */
  private static void invalidRequest(io.vertx.core.http.HttpServerRequest req) {
    Throwable cause = req.decoderResult().cause();
    int status = 400;
    String code = "bad_request";
    String message = "the HTTP request could not be read";
    if (cause instanceof io.netty.handler.codec.TooLongFrameException) {
      String m = String.valueOf(cause.getMessage());
      if (m.contains("header")) {
        status = 431;
        code = "headers_too_large";
        message = "request headers are too large";
      } else {
        status = 414;
        code = "uri_too_long";
        message = "the request line is too long";
      }
    }
    req.response().setStatusCode(status)
        .putHeader("content-type", "application/json")
        .putHeader("connection", "close")
        .end("{\"error\":\"" + code + "\",\"message\":\"" + message + "\"}")
        .onComplete(ar -> req.connection().close());
  }

  private static String safePath(io.vertx.ext.web.RoutingContext ctx) {
    String p = ctx.request().path();
    return p == null ? "" : p.length() > 200 ? p.substring(0, 200) + "..." : p;
  }
}
