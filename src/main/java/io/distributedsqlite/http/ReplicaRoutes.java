package io.distributedsqlite.http;

import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.wire.BadRequest;
import io.distributedsqlite.wire.RecordJson;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * What coordinators ask of a replica: {@code POST /internal/apply}, a batch of versioned records
 * applied with the merge rule (so retries and reordering are harmless), and
 * {@code POST /internal/read}, this node's own records for a quorum read.
 */
final class ReplicaRoutes {
  private final NodeServices services;
  private final LocalApply local;
  private final OwnRecords own;
  private final ReplicaGate gate;
  private final int bodyLimit;

  ReplicaRoutes(NodeServices services, LocalApply local, OwnRecords own, ReplicaGate gate) {
    this.services = services;
    this.local = local;
    this.own = own;
    this.gate = gate;
    // Senders keep their batches within PeerLimits (one record alone when it is larger).
    this.bodyLimit = PeerLimits.bodyLimit(services.config().maxValueBytes());
  }

  void mount(Router router) {
    router.post("/internal/apply").handler(this::apply);
    // A rebuilding node refuses, so coordinators ask the next replica instead of taking its "none" for an answer.
    router.post("/internal/read").handler(gate.answeringReads("rebuilding")).handler(this::read);
  }

  /** A batch of versioned records from a coordinator, hint replay, read repair or anti-entropy. */
  private void apply(RoutingContext ctx) {
    Responses.body(ctx, bodyLimit)
        .compose(bytes -> {
          try {
            return local.apply(RecordJson.decodeList(bytes, services.config().maxValueBytes()));
          } catch (BadRequest e) {
            return Future.failedFuture(e);
          }
        })
        .onSuccess(n -> local.answer(ctx, n))
        .onFailure(t -> Responses.fail(ctx, t));
  }

  /**
   * Quorum reads: this node's own records (tombstones included, strays left out) for a JSON array
   * of keys, within the asker's {@code max_bytes} (at most {@link PeerLimits#BATCH_BYTES}); see
   * {@link OwnRecords#answerKeys}.
   */
  private void read(RoutingContext ctx) {
    own.answerKeys(ctx, true, records -> records.removeIf(own::isStray));
  }
}
