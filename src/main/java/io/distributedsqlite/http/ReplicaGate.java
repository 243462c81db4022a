package io.distributedsqlite.http;

import io.distributedsqlite.cluster.NodeHealth;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.Set;

/**
 * The one place that decides whether this node's data may be served. Router-wide
 * ({@link #handle}): keeps a stale replica's data in: while the node is {@code stale} or
 * {@code checking}, every request but health, readiness, metrics, the cluster view and the peers'
 * start-up check ({@value #STATUS_PATH}) gets 503 {@code stale_replica} (or {@code not_ready} while
 * checking), client and {@code /internal/*} routes alike. Peers' probes fail with it, so their
 * failure detectors count the node down for reads, writes, hints and repair without any other
 * protocol. Per route ({@link #answeringReads}): a route whose answer is this node's own records
 * standing in for a read is also refused while the node is rebuilding, so coordinators ask the
 * next replica instead of taking its "none" for an answer.
 */
final class ReplicaGate {
  static final String STATUS_PATH = "/internal/status";
  private static final Set<String> OPEN = Set.of("/health", "/ready", "/metrics", "/cluster", STATUS_PATH);

  private final NodeHealth health;

  ReplicaGate(NodeHealth health) {
    this.health = health;
  }

  void handle(RoutingContext ctx) {
    if (health.servesData() || OPEN.contains(ctx.request().path())) {
      ctx.next();
      return;
    }
    Responses.error(ctx, 503, health.stale() ? "stale_replica" : "not_ready", health.reason());
  }

  /** A route handler that passes only while this node's records may answer reads, else 503 {@code code}. */
  Handler<RoutingContext> answeringReads(String code) {
    return ctx -> {
      if (health.answersReads()) {
        ctx.next();
        return;
      }
      Responses.error(ctx, 503, code, health.reason());
    };
  }
}
