package io.distributedsqlite.http;

import io.distributedsqlite.wire.Json;
import io.distributedsqlite.cluster.NodeHealth;

import io.distributedsqlite.cluster.AntiEntropyVerticle;
import io.distributedsqlite.cluster.MembershipVerticle;
import io.distributedsqlite.config.Durations;
import io.distributedsqlite.wire.BadRequest;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;

/**
 * Operator endpoints: health, readiness and metrics open to all; the cluster view and repair
 * progress with a read token, starting a repair round with a write token (when API_TOKENS is set).
 */
final class OpsRoutes {
  private final Vertx vertx;
  private final NodeServices services;

  OpsRoutes(Vertx vertx, NodeServices services) {
    this.vertx = vertx;
    this.services = services;
  }

  void mount(Router router) {
    router.get("/health").handler(ctx ->
        Responses.json(ctx, 200, "{\"status\":\"ok\"," + Json.nodeIdField(services.config().nodeName()) + "}"));
    router.get("/ready").handler(this::ready);
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .end(services.registry().scrape()));
    ClientAuth auth = new ClientAuth(services.config().apiTokens());
    router.get("/cluster").handler(auth::requireRead).handler(this::cluster);
    router.post("/admin/repair").handler(auth::requireWrite).handler(this::repair);
    router.get("/admin/repair").handler(auth::requireRead).handler(this::repairProgress);
  }

  /**
   * Starts an anti-entropy round with every peer (or joins the one running) in the background and
   * answers 202 with its progress. With {@code wait=<duration>} (at most {@link #MAX_REPAIR_WAIT})
   * it waits up to that long: 200 with the round's report (every peer's report or error) when the
   * round completed, else 202 with its progress.
   */
  private void repair(RoutingContext ctx) {
    JsonObject ask = new JsonObject();
    try {
      String wait = Params.query(ctx).get("wait");
      if (wait != null) {
        ask.put("wait_ms", waitParam(wait).toMillis());
      }
    } catch (BadRequest e) {
      Responses.error(ctx, e);
      return;
    }
    long timeout = ask.getLong("wait_ms", 0L) + 30_000;
    vertx.eventBus().<JsonObject>request(AntiEntropyVerticle.REPAIR_NOW_ADDRESS, ask,
            new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(timeout))
        .onSuccess(m -> Responses.json(ctx, Integer.parseInt(m.headers().get(AntiEntropyVerticle.STATUS_HEADER)), m.body()))
        .onFailure(t -> Responses.fail(ctx, t));
  }

  /** The longest {@code POST /admin/repair?wait=}; a longer round is followed with {@code GET /admin/repair}. */
  static final Duration MAX_REPAIR_WAIT = Duration.ofMinutes(10);

  static Duration waitParam(String text) throws BadRequest {
    return waitParam(text, "GET /admin/repair");
  }

  /** A {@code wait=} duration of at most 10 minutes; {@code follow}: how a longer operation is followed. */
  static Duration waitParam(String text, String follow) throws BadRequest {
    Duration d;
    try {
      d = Durations.parse(text);
    } catch (IllegalArgumentException e) {
      throw BadRequest.of("invalid_wait", "wait: " + e.getMessage());
    }
    if (d.compareTo(MAX_REPAIR_WAIT) > 0) {
      throw BadRequest.of("invalid_wait", "wait must be at most 10m; follow a longer one with " + follow);
    }
    return d;
  }

  /** The progress of the round running (if any) and the last completed round's summary. */
  private void repairProgress(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(AntiEntropyVerticle.PROGRESS_ADDRESS, null)
        .onSuccess(m -> Responses.json(ctx, 200, m.body()))
        .onFailure(t -> Responses.fail(ctx, t));
  }

  private void ready(RoutingContext ctx) {
    NodeHealth h = services.health();
    JsonObject body = new JsonObject().put("status", h.ready() ? "ready" : "not_ready")
        .put("node_id", services.config().nodeName()).put("reason", h.reason());
    Responses.json(ctx, h.ready() ? 200 : 503, body);
  }

  /** Membership (state, last seen, hints, ownership) merged with the last repair per peer. */
  private void cluster(RoutingContext ctx) {
    var membership = vertx.eventBus().<JsonObject>request(MembershipVerticle.INFO_ADDRESS, null);
    var repairs = vertx.eventBus().<JsonObject>request(AntiEntropyVerticle.INFO_ADDRESS, null);
    var change = vertx.eventBus().<JsonObject>request(io.distributedsqlite.cluster.MembershipChanges.PROGRESS_ADDRESS, null);
    io.vertx.core.Future.all(membership, repairs, change).onSuccess(cf -> {
      JsonObject view = membership.result().body();
      JsonObject progress = change.result().body();
      view.getJsonObject("view").put("state", progress.getString("state")).put("change", progress.getJsonObject("change"))
          .put("streaming", progress.getJsonObject("streaming"));
      JsonObject lastRepair = repairs.result().body();
      for (Object o : view.getJsonArray("nodes")) {
        JsonObject node = (JsonObject) o;
        JsonObject r = lastRepair.getJsonObject(Integer.toString(node.getInteger("id")));
        node.put("last_repair", r == null ? null : r.getString("completed_at"));
      }
      NodeHealth h = services.health();
      view.put("stale", h.stale());
      view.put("strays", services.digests().strays());
      view.put("standing", h.standing().wireName());
      view.put("standing_reason", h.standing() == NodeHealth.Standing.NORMAL ? null : h.reason());
      long until = h.inTouch().until();
      view.put("in_touch", until == 0 ? null : java.time.Instant.ofEpochMilli(until).toString());
      Responses.json(ctx, 200, view);
    }).onFailure(t -> Responses.fail(ctx, t));
  }
}
