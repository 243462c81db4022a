package io.distributedsqlite.http;

import io.distributedsqlite.cluster.CurrentView;
import io.distributedsqlite.cluster.ViewIdentity;
import io.vertx.ext.web.RoutingContext;

/**
 * The receiving side of the membership check on {@code /internal/*}: a request whose
 * {@link ViewIdentity#HEADER} names a view that disagrees with this node's (another RF, other
 * members at the same epoch, or an older epoch) gets 409 {@code view_mismatch} saying what
 * differs, and changes nothing. A newer epoch is taken (this node is about to adopt it). {@code /internal/ping} and {@code /internal/status} always answer; a request
 * without the header (the original's tools, nodes from before views) is taken as before. A
 * malformed header is 409 {@code invalid_view}.
 */
final class ViewCheck {
  /**
   * Always answered: the probe, so both sides learn about each other, and the standing check a
   * node cut off for long asks its peers (it must get its verdict even while views differ); the
   * view itself (read by a node that is behind or joining, pushed by the coordinator to nodes that
   * are behind) and membership changes (asked by a node not yet in the view), which check what
   * they are sent themselves.
   */
  static final java.util.Set<String> OPEN = java.util.Set.of("/internal/ping", "/internal/status", "/internal/view",
      "/internal/membership");

  /** The routing context entry holding the sender's view identity, when it sent one. */
  static final String SENDER_VIEW = "sender-view";

  private final CurrentView view;
  private final long graceNanos;

  /** {@code grace}: how long after taking a view a request of the view before it is still taken (PEER_TIMEOUT). */
  ViewCheck(CurrentView view, java.time.Duration grace) {
    this.view = view;
    this.graceNanos = grace.toNanos();
  }

  /**
   * A sender one epoch behind, within the grace after this node took its view, is taken: it is
   * about to adopt the same view (pushed to every member at once), and refusing it would fail the
   * requests it coordinates meanwhile. Safe at either step of a change: a request of the view
   * before a change meets its level among the current replicas, which a request during it must
   * meet too; and a node that streams its ranges to a gaining node does so only twice the grace
   * after it took the view of the change, so what it took under the older view is in its file.
   */
  private boolean catchingUp(ViewIdentity sender, ViewIdentity mine) {
    return sender.rf() == mine.rf() && sender.epoch() == mine.epoch() - 1 && System.nanoTime() - view.setAtNanos() < graceNanos;
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
    ViewIdentity mine = view.identity();
    // A sender with a newer view is taken: it coordinates under the newer placement, and this node
    // adopts that view from its next probe. One with an older view, or another RF or other members
    // at the same epoch, is refused: this node takes no request of a placement it has left.
    ViewIdentity.Agreement agreement = mine.compare(sender);
    if (agreement == ViewIdentity.Agreement.SAME || agreement == ViewIdentity.Agreement.PEER_NEWER || catchingUp(sender, mine)) {
      ctx.put(SENDER_VIEW, sender);
      // Counted until answered: a node streams ranges only once no request of an older view is left.
      Runnable done = view.enter(sender.epoch());
      ctx.addEndHandler(v -> done.run()); // called once: when the answer ended or the connection closed
      ctx.next();
      return;
    }
    String why = mine.disagreement(sender, "sender");
    if (why == null) {
      ctx.next();
    } else {
      Responses.error(ctx, 409, "view_mismatch", why + "; this node takes no request from a node whose view differs");
    }
  }
}
