package io.distributedsqlite.http;

import io.distributedsqlite.cluster.MembershipChanges;
import io.distributedsqlite.cluster.Placement;
import io.distributedsqlite.cluster.StrayCleanup;
import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.storage.BucketPosition;
import io.distributedsqlite.wire.BadRequest;
import io.distributedsqlite.wire.RecordJson;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.List;

/**
 * Membership changes over HTTP (README, "Membership"). Between nodes: {@code GET /internal/view}
 * (this node's view), {@code POST /internal/view} (a view pushed by the coordinator),
 * {@code POST /internal/membership} (a change asked of the coordinator) and
 * {@code POST /internal/stream} (a page of the records a joining or gaining node streams from this
 * one). For operators: {@code POST|GET /admin/decommission} and {@code POST|GET /admin/cleanup}.
 */
final class MembershipChangeRoutes {
  private static final int BODY_LIMIT = 1 << 20;
  private final Vertx vertx;
  private final NodeServices services;

  MembershipChangeRoutes(Vertx vertx, NodeServices services) {
    this.vertx = vertx;
    this.services = services;
  }

  /** The internal routes: mount after {@link PeerAuthentication} and {@link ViewCheck}. */
  void mountInternal(Router router) {
    router.get("/internal/view").handler(ctx -> Responses.json(ctx, 200, services.view().view().toJson()));
    router.post("/internal/view").handler(ctx -> forward(ctx, MembershipChanges.PUSHED_VIEW_ADDRESS));
    router.post("/internal/membership").handler(this::change);
    router.post("/internal/stream").handler(this::stream);
  }

  void mountAdmin(Router router) {
    ClientAuth auth = new ClientAuth(services.config().apiTokens());
    router.post("/admin/decommission").handler(auth::requireWrite).handler(this::decommission);
    router.get("/admin/decommission").handler(auth::requireRead).handler(ctx -> {
      try {
        progress(nodeParam(ctx)).onSuccess(p -> Responses.json(ctx, 200, p)).onFailure(t -> Responses.fail(ctx, t));
      } catch (BadRequest e) {
        Responses.error(ctx, e);
      }
    });
    router.post("/admin/cleanup").handler(auth::requireWrite).handler(this::cleanup);
    router.get("/admin/cleanup").handler(auth::requireRead).handler(ctx -> vertx.eventBus()
        .<JsonObject>request(StrayCleanup.LAST_ADDRESS, null).onSuccess(m -> Responses.json(ctx, 200, m.body()))
        .onFailure(t -> Responses.fail(ctx, t)));
  }

  /**
   * A change asked of this node as the coordinator. Refused while the asker runs a newer view than
   * this node's (this node restarted, or missed a push): a change is made only on the newest view.
   */
  private void change(RoutingContext ctx) {
    String header = ctx.request().getHeader(io.distributedsqlite.cluster.ViewIdentity.HEADER);
    if (header != null) {
      try {
        long theirs = io.distributedsqlite.cluster.ViewIdentity.parseHeader(header).epoch();
        long mine = services.view().view().epoch();
        if (theirs > mine) {
          Responses.error(ctx, 409, "view_mismatch", "the asking node runs view epoch " + theirs + ", this node epoch " + mine
              + "; it takes no change until it has caught up");
          return;
        }
      } catch (IllegalArgumentException e) {
        Responses.error(ctx, 409, "invalid_view", e.getMessage());
        return;
      }
    }
    forward(ctx, MembershipChanges.CHANGE_ADDRESS);
  }

  /** Hands a JSON body to the membership verticle; its failure {@code "<code>: <message>"} becomes the error answer. */
  private void forward(RoutingContext ctx, String address) {
    Responses.body(ctx, BODY_LIMIT).compose(bytes -> {
      JsonObject body;
      try {
        body = new JsonObject(io.vertx.core.buffer.Buffer.buffer(bytes));
      } catch (RuntimeException e) {
        return Future.failedFuture(BadRequest.of("invalid_json", "expected a JSON object"));
      }
      return vertx.eventBus().<JsonObject>request(address, body).map(m -> m.body());
    }).onSuccess(reply -> Responses.json(ctx, 200, reply)).onFailure(t -> answerFailure(ctx, t));
  }

  private static void answerFailure(RoutingContext ctx, Throwable t) {
    if (t instanceof BadRequest e) {
      Responses.error(ctx, e);
    } else if (t instanceof ReplyException re && re.failureCode() >= 400 && re.failureCode() < 600) {
      String text = String.valueOf(re.getMessage());
      int colon = text.indexOf(": ");
      String code = colon > 0 ? text.substring(0, colon) : "error";
      Responses.error(ctx, re.failureCode(), code, colon > 0 ? text.substring(colon + 2) : text);
    } else {
      Responses.fail(ctx, t);
    }
  }

  /**
   * One page of what the asking node ({@code for}) gains from this node in the change in
   * progress: the records, tombstones included, of the keys it becomes a replica of and this node
   * is a current replica of, after {@code after} in key order. Scans {@code limit} records of the
   * table per page; {@code next} says where the next page starts (null after the last). Answered
   * only while this node is normal, at the asker's view, PEER_TIMEOUT after it took that view, with
   * no request of an older view in progress, and (first page) after a storage barrier: a write of
   * the older view it took must be in the file the page is read from.
   */
  private void stream(RoutingContext ctx) {
    io.distributedsqlite.cluster.ViewIdentity sender = ctx.get(ViewCheck.SENDER_VIEW);
    io.distributedsqlite.cluster.ViewIdentity mine = services.view().identity();
    if (sender == null || !sender.equals(mine)) {
      // Only a source that runs the very view of the change streams it (see MembershipChanges).
      Responses.error(ctx, 409, "view_mismatch", "streaming needs both nodes at the same view; this node is at epoch "
          + mine.epoch() + (sender == null ? "" : ", the sender at epoch " + sender.epoch()));
      return;
    }
    if (!services.health().answersReads()) {
      // A rebuilding (or checking, or stale) node may lack writes its file should have.
      Responses.error(ctx, 503, "not_ready", "this node streams no ranges while it is " + services.health().standing().wireName()
          + ": " + services.health().reason());
      return;
    }
    // Requests of the older view are taken for PEER_TIMEOUT after this node took its view
    // (ViewCheck); then none of them may still be in progress, and what they queued for the
    // storage worker must be committed (the barrier, on the first page).
    long settling = services.config().peerTimeout().toNanos() - (System.nanoTime() - services.view().setAtNanos());
    if (settling > 0 || services.view().olderInFlight()) {
      Responses.error(ctx, 503, "view_settling", "this node took view epoch " + services.view().view().epoch()
          + " moments ago; streaming starts once the requests of the older view are done");
      return;
    }
    Responses.body(ctx, BODY_LIMIT).compose(bytes -> {
      JsonObject body;
      try {
        body = new JsonObject(io.vertx.core.buffer.Buffer.buffer(bytes));
      } catch (RuntimeException e) {
        return Future.failedFuture(BadRequest.of("invalid_json", "expected {\"for\": <ordinal>, \"after\": <key>|null, \"limit\": n}"));
      }
      Object target = body.getValue("for");
      Object after = body.getValue("after");
      Object limit = body.getValue("limit", 1000);
      if (!(target instanceof Integer gainer) || !(after == null || after instanceof String) || !(limit instanceof Integer n)
          || n < 1 || n > 10_000) {
        return Future.failedFuture(BadRequest.of("invalid_request",
            "expected {\"for\": <ordinal>, \"after\": <key>|null, \"limit\": 1..10000}"));
      }
      Placement placement = services.view().placement();
      int self = services.config().nodeId();
      Future<?> barrier = after != null ? Future.succeededFuture()
          : vertx.eventBus().request(io.distributedsqlite.storage.StorageVerticle.ADDRESS, new io.distributedsqlite.storage.StorageCommand.Barrier(),
              new DeliveryOptions().setSendTimeout(60_000));
      return barrier.compose(b -> services.reader().keyPage((String) after, n, key -> placement.streamedTo(key, self, gainer), PeerLimits.BATCH_BYTES)
          .map(page -> RecordJson.encodePage(page.records(), List.of(), page.last() == null ? null : new BucketPosition(0, page.last()))));
    }).onSuccess(json -> Responses.json(ctx, 200, json)).onFailure(t -> answerFailure(ctx, t));
  }

  private Future<JsonObject> progress(JsonObject target) {
    return vertx.eventBus().<JsonObject>request(MembershipChanges.PROGRESS_ADDRESS, target).map(m -> m.body());
  }

  /** {@code ?node=N}: the node a decommission names ({"node": N}), else null for this node; throws on a bad value. */
  private static JsonObject nodeParam(RoutingContext ctx) throws BadRequest {
    if (Params.query(ctx).get("node") == null) {
      return null;
    }
    return new JsonObject().put("node", Params.intParam(ctx, "node", 0, io.distributedsqlite.config.NodeConfig.MAX_ORDINAL));
  }

  /**
   * Starts decommissioning this node, or the node {@code ?node=N} names (it becomes
   * {@code leaving}; a joining node's join is abandoned) and answers 202 with the progress; with
   * {@code wait=<duration>} it waits up to that long for the node to be {@code left} (200).
   */
  private void decommission(RoutingContext ctx) {
    Duration wait = waitParam(ctx, "GET /admin/decommission");
    if (wait == null) {
      return;
    }
    JsonObject target;
    try {
      target = nodeParam(ctx);
    } catch (BadRequest e) {
      Responses.error(ctx, e);
      return;
    }
    long deadline = System.nanoTime() + wait.toNanos();
    vertx.eventBus().<JsonObject>request(MembershipChanges.DECOMMISSION_ADDRESS, target, new DeliveryOptions().setSendTimeout(60_000))
        .compose(m -> untilLeft(target, deadline))
        .onSuccess(p -> Responses.json(ctx, "left".equals(p.getString("state")) ? 200 : 202, p))
        .onFailure(t -> answerFailure(ctx, t));
  }

  /** The request's {@code wait} (zero without one), or null after answering 400 for a bad one. */
  private static Duration waitParam(RoutingContext ctx, String follow) {
    try {
      String w = Params.query(ctx).get("wait");
      return w == null ? Duration.ZERO : OpsRoutes.waitParam(w, follow);
    } catch (BadRequest e) {
      Responses.error(ctx, e);
      return null;
    }
  }

  private Future<JsonObject> untilLeft(JsonObject target, long deadlineNanos) {
    return progress(target).compose(p -> {
      if ("left".equals(p.getString("state")) || System.nanoTime() >= deadlineNanos) {
        return Future.succeededFuture(p);
      }
      Promise<Void> tick = Promise.promise();
      vertx.setTimer(250, id -> tick.complete());
      return tick.future().compose(v -> untilLeft(target, deadlineNanos));
    });
  }

  /**
   * Removes now, throttled, the records this node does not replicate under its view (keys moved
   * away by a membership change, and strays). 202 while it runs; with {@code wait=<duration>},
   * 200 with what it removed when it finished within that time.
   */
  private void cleanup(RoutingContext ctx) {
    Duration wait = waitParam(ctx, "GET /admin/cleanup");
    if (wait == null) {
      return;
    }
    Future<JsonObject> run = vertx.eventBus().<JsonObject>request(StrayCleanup.CLEANUP_ADDRESS, null,
        new DeliveryOptions().setSendTimeout(Math.max(1, wait.toMillis()))).map(m -> m.body());
    if (wait.isZero()) {
      Responses.json(ctx, 202, new JsonObject().put("node_id", services.config().nodeName()).put("running", true));
      return;
    }
    run.onSuccess(r -> Responses.json(ctx, 200, r)).onFailure(t -> {
      if (t instanceof ReplyException re && re.failureType() == io.vertx.core.eventbus.ReplyFailure.TIMEOUT) {
        Responses.json(ctx, 202, new JsonObject().put("node_id", services.config().nodeName()).put("running", true));
      } else {
        answerFailure(ctx, t);
      }
    });
  }
}
