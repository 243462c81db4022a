package io.distributedsqlite.http;

import io.distributedsqlite.cluster.MembershipVerticle;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/** Operator endpoints, open without client auth: health, readiness, metrics, cluster view. */
final class OpsRoutes {
  private final Vertx vertx;
  private final NodeServices services;

  OpsRoutes(Vertx vertx, NodeServices services) {
    this.vertx = vertx;
    this.services = services;
  }

  void mount(Router router) {
    router.get("/health").handler(ctx ->
        Responses.json(ctx, 200, "{\"status\":\"ok\",\"node_id\":" + services.config().nodeId() + "}"));
    router.get("/ready").handler(this::ready);
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .end(services.registry().scrape()));
    router.get("/cluster").handler(this::cluster);
  }

  private void ready(RoutingContext ctx) {
    NodeHealth h = services.health();
    JsonObject body = new JsonObject().put("status", h.ready() ? "ready" : "not_ready")
        .put("node_id", services.config().nodeId()).put("reason", h.reason());
    Responses.json(ctx, h.ready() ? 200 : 503, body);
  }

  private void cluster(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(MembershipVerticle.INFO_ADDRESS, null)
        .onSuccess(m -> Responses.json(ctx, 200, m.body()))
        .onFailure(t -> Responses.fail(ctx, t));
  }
}
