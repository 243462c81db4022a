package io.distributedsqlite.http;

import io.distributedsqlite.cluster.CurrentView;
import io.distributedsqlite.cluster.ViewIdentity;
import io.vertx.ext.web.RoutingContext;

/**
 * The receiving side of the membership check on {@code /internal/*}: a request whose
 * {@link ViewIdentity#HEADER} names a view that disagrees with this node's (another RF, other
 * members, an older or a newer epoch) gets 409 {@code view_mismatch} saying what differs, and
 * changes nothing. {@code /internal/ping} and {@code /internal/status} always answer; a request
 * without the header (the original's tools, nodes from before views) is taken as before. A
 * malformed header is 409 {@code invalid_view}.
 */
final class ViewCheck {
  /**
   * Always answered: the probe, so both sides learn about each other, and the standing check a
   * node cut off for long asks its peers (it must get its verdict even while views differ).
   */
  static final java.util.Set<String> OPEN = java.util.Set.of("/internal/ping", "/internal/status");

  private final CurrentView view;

  ViewCheck(CurrentView view) {
    this.view = view;
  }

  /** Mount it after {@link PeerAuthentication} and before every {@code /internal/*} route. */
  void mount(io.vertx.ext.web.Router router) {
    router.route("/internal/*").handler(this::handle);
  }

  private void handle(RoutingContext ctx) {
    String header = ctx.request().getHeader(ViewIdentity.HEADER);
    if (header == null || OPEN.contains(ctx.request().path())) {
      ctx.next();
      return;
    }
    ViewIdentity sender;
    try {
      sender = ViewIdentity.parseHeader(header);
    } catch (IllegalArgumentException e) {
      // 409, not 400: a sender reads 400 as "this record is bad" and would drop hints over it.
      Responses.error(ctx, 409, "invalid_view", e.getMessage());
      return;
    }
    String why = view.identity().disagreement(sender, "sender");
    if (why == null) {
      ctx.next();
    } else {
      Responses.error(ctx, 409, "view_mismatch", why + "; this node takes no request from a node whose view differs");
    }
  }
}
