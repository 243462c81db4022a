package io.distributedsqlite.http;

import io.distributedsqlite.cluster.NodeHealth;
import io.distributedsqlite.wire.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * What the peers' membership asks: {@code GET /internal/ping}, the failure detector's probe, and
 * {@code GET /internal/status}, the start-up stale check.
 */
final class MembershipRoutes {
  private final NodeServices services;
  private final String nodeIdField;

  MembershipRoutes(NodeServices services) {
    this.services = services;
    this.nodeIdField = Json.nodeIdField(services.config().nodeName());
  }

  void mount(Router router) {
    router.get("/internal/ping").handler(this::ping);
    router.get(ReplicaGate.STATUS_PATH).handler(this::status);
  }

  /**
   * The failure detector's probe. The answer carries this node's wall clock ({@code "clock"},
   * epoch milliseconds) so the prober can estimate the offset between the two clocks, and this
   * node's membership view identity ({@code "view"}) so the prober can compare it with its own.
   */
  private void ping(RoutingContext ctx) {
    Responses.json(ctx, 200, "{" + nodeIdField + ",\"clock\":" + services.config().wallMillis()
        + ",\"view\":" + services.view().identity().toJson().encode() + "}");
  }

  /**
   * The start-up stale check of a peer ({@link io.distributedsqlite.cluster.InTouchRule}): this
   * node's standing, when it was in touch with the cluster, and the time of the newest delete whose
   * tombstone it purged; in every standing (the asking node takes no stale or rebuilding node's
   * stretches as evidence).
   */
  private void status(RoutingContext ctx) {
    NodeHealth h = services.health();
    Responses.json(ctx, 200, new JsonObject().put("node_id", services.config().nodeName())
        .put("state", h.standing().wireName()).put("in_touch", h.inTouch().toJson()).put("purged_up_to", h.purgedUpTo()));
  }
}
