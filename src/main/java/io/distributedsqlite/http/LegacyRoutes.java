package io.distributedsqlite.http;

import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.replication.WriteCoordinator;
import io.distributedsqlite.replication.WriteOutcome;
import io.distributedsqlite.replication.WriteRequest;
import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.Version;
import io.distributedsqlite.wire.BadRequest;
import io.distributedsqlite.wire.Json;
import io.distributedsqlite.wire.RecordFields;
import io.distributedsqlite.wire.RecordJson;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/**
 * The original's internal routes, for its scripts, tools and operators: {@code GET /internal/get}
 * (this node's own record), {@code POST /internal/set} and {@code DELETE /internal/delete}. With a
 * version, a write is applied here only, like {@code /internal/apply}. Without one (the original
 * tools' form) it is coordinated like a client write (it reaches the key's replicas) and also kept
 * on this node, as the original does, so a read-back with {@code /internal/get} from the same node
 * sees it. On a node that does not replicate the key that copy is a stray: {@code /internal/get}
 * shows it, but it is never served to repair or quorum reads ({@link OwnRecords#isStray}), and
 * {@code StrayCleanup} removes it after STRAY_GRACE.
 */
final class LegacyRoutes {
  private final NodeServices services;
  private final WriteCoordinator writes;
  private final LocalApply local;
  private final WriteAnswer answers;
  private final int bodyLimit;
  private final String nodeIdField;

  LegacyRoutes(NodeServices services, WriteCoordinator writes, LocalApply local, WriteAnswer answers) {
    this.services = services;
    this.writes = writes;
    this.local = local;
    this.answers = answers;
    this.nodeIdField = Json.nodeIdField(services.config().nodeName());
    // Senders keep their batches within PeerLimits (one record alone when it is larger).
    this.bodyLimit = PeerLimits.bodyLimit(services.config().maxValueBytes());
  }

  void mount(Router router) {
    router.get("/internal/get").handler(this::get);
    router.post("/internal/set").handler(this::set);
    router.delete("/internal/delete").handler(this::delete);
  }

  /** This node's own local record, tombstones included; 404 when it has none. */
  private void get(RoutingContext ctx) {
    try {
      String key = Params.key(Params.query(ctx));
      services.reader().get(key).onSuccess(r -> {
        if (r == null) {
          Responses.error(ctx, 404, "not_found", "this node holds no record for the key");
          return;
        }
        StringBuilder sb = new StringBuilder(160 + (r.value() == null ? 0 : r.value().length()));
        RecordJson.append(sb, r);
        sb.setLength(sb.length() - 1);
        sb.append(',').append(nodeIdField).append('}');
        Responses.json(ctx, 200, sb.toString());
      }).onFailure(t -> Responses.fail(ctx, t));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
    }
  }

  private void set(RoutingContext ctx) {
    Responses.body(ctx, bodyLimit).compose(bytes -> {
      try {
        RecordFields f = RecordFields.parseSingle(bytes, services.config().maxValueBytes());
        if (f.version() == null) {
          if (!f.hasValue()) {
            throw BadRequest.of("missing_value", "value is required");
          }
          long expiresAt = f.ttlSeconds() > 0 ? services.config().wallMillis() + f.ttlSeconds() * 1000 : 0;
          return legacyWrite(ctx, new WriteRequest(f.key(), f.value(), false, expiresAt, writeLevel(ctx)), "success").mapEmpty();
        }
        return applyHere(ctx, f.toReplicaRecord()).mapEmpty();
      } catch (BadRequest e) {
        return Future.failedFuture(e);
      }
    }).onFailure(t -> Responses.fail(ctx, t));
  }

  private void delete(RoutingContext ctx) {
    try {
      MultiMap q = Params.query(ctx);
      String key = Params.key(q);
      String version = q.get("version");
      if (version == null) {
        legacyWrite(ctx, new WriteRequest(key, null, true, 0, writeLevel(ctx)), "deleted")
            .onFailure(t -> Responses.fail(ctx, t));
        return;
      }
      Version v;
      try {
        v = Version.parse(version);
      } catch (IllegalArgumentException e) {
        throw BadRequest.of("invalid_version", e.getMessage());
      }
      applyHere(ctx, Record.tombstone(key, v))
          .onFailure(t -> Responses.fail(ctx, t));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
    }
  }

  /** A versioned record: applied on this node only and answered as {@code /internal/apply} does. */
  private Future<ApplyResult> applyHere(RoutingContext ctx, Record r) {
    return local.apply(List.of(r)).onSuccess(n -> local.answer(ctx, n));
  }

  /**
   * The original tools' versionless write: coordinated like a client write, and, once it met its
   * level, also committed here with the same version before the answer (the original keeps a copy
   * on the node that received it, and its tools read it back from there at once). On a node that
   * does not replicate the key that copy is a stray. On a replica the coordinated write may have
   * been acknowledged by a peer before the local commit; applying the same version again is a
   * no-op under the merge rule once that commit lands.
   */
  private Future<WriteOutcome> legacyWrite(RoutingContext ctx, WriteRequest req, String status) {
    return writes.write(req).compose(out -> {
      if (!out.met()) {
        return Future.succeededFuture(out);
      }
      Version v = out.version();
      Record copy = req.tombstone() ? Record.tombstone(req.key(), v) : Record.write(req.key(), req.value(), v, req.expiresAt());
      return local.apply(List.of(copy)).map(n -> out);
    }).onSuccess(out -> answers.answer(ctx, req, out, status));
  }

  private Consistency writeLevel(RoutingContext ctx) throws BadRequest {
    return Params.consistency(Params.query(ctx), "w", services.config().writeConsistency());
  }
}
