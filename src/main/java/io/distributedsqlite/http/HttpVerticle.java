package io.distributedsqlite.http;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.util.concurrent.TimeUnit;

/**
 * The node's HTTP face, one instance per core (all share the port). Routes, validation, JSON
 * errors; never blocks: writes go to the replication verticle, reads to the quorum-read verticle,
 * local record reads to the JDBC pool, all as futures.
 */
public final class HttpVerticle extends VerticleBase {
  private final NodeServices services;
  private HttpServer server;

  public HttpVerticle(NodeServices services) {
    this.services = services;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.route().handler(new RequestMetrics(services.registry())::handle);
    ClientRoutes client = new ClientRoutes(vertx, services.config());
    client.mount(router);
    new InternalRoutes(vertx, services, client).mount(router);
    new OpsRoutes(vertx, services).mount(router);
    router.errorHandler(404, ctx -> Responses.error(ctx, 404, "not_found", "no route " + ctx.request().method() + " " + safePath(ctx)));
    router.errorHandler(405, ctx -> Responses.error(ctx, 405, "method_not_allowed", ctx.request().method() + " is not allowed on " + safePath(ctx)));
    router.errorHandler(400, ctx -> Responses.error(ctx, 400, "bad_request", "the request could not be read"));
    router.errorHandler(500, ctx -> Responses.fail(ctx, ctx.failure() == null ? new RuntimeException("unknown") : ctx.failure()));
    HttpServerOptions options = new HttpServerOptions()
        .setHost(services.config().host())
        .setPort(services.config().port())
        .setMaxHeaderSize(16 * 1024)
        .setMaxInitialLineLength(8 * 1024)
        .setIdleTimeout(120)
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setTcpNoDelay(true);
    server = vertx.createHttpServer(options).requestHandler(router);
    return server.listen();
  }

  /** Stops accepting and lets in-flight requests finish (up to SHUTDOWN_TIMEOUT). */
  @Override
  public Future<?> stop() {
    return server.shutdown(services.config().shutdownTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  private static String safePath(io.vertx.ext.web.RoutingContext ctx) {
    String p = ctx.request().path();
    return p == null ? "" : p.length() > 200 ? p.substring(0, 200) + "..." : p;
  }
}
