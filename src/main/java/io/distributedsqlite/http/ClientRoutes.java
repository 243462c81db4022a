package io.distributedsqlite.http;

import io.distributedsqlite.wire.RecordFields;
import io.distributedsqlite.wire.Json;
import io.distributedsqlite.wire.BadRequest;

import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.read.ReadCoordinator;
import io.distributedsqlite.read.ReadOutcome;
import io.distributedsqlite.read.ReadRequest;
import io.distributedsqlite.replication.WriteCoordinator;
import io.distributedsqlite.replication.WriteOutcome;
import io.distributedsqlite.replication.WriteRequest;
import io.distributedsqlite.storage.Record;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The client API: {@code POST /set}, {@code GET /get}, {@code DELETE /delete}. Validates input,
 * then hands the write to this event loop's {@link WriteCoordinator} or the read to its
 * {@link ReadCoordinator}; never touches SQLite itself.
 */
final class ClientRoutes {
  private final NodeConfig config;
  private final WriteCoordinator writes;
  private final ReadCoordinator reads;
  private final int bodyLimit;
  private final WriteAnswer answers;
  private final String nodeIdField;

  ClientRoutes(NodeConfig config, WriteCoordinator writes, ReadCoordinator reads, WriteAnswer answers) {
    this.config = config;
    this.writes = writes;
    this.reads = reads;
    this.answers = answers;
    this.bodyLimit = config.maxValueBytes() + NodeConfig.MAX_KEY_BYTES * 6 + 4096;
    this.nodeIdField = Json.nodeIdField(config.nodeName());
  }

  void mount(Router router) {
    ClientAuth auth = new ClientAuth(config.apiTokens());
    router.post("/set").handler(auth::requireWrite).handler(this::set);
    router.get("/get").handler(auth::requireRead).handler(this::get);
    router.delete("/delete").handler(auth::requireWrite).handler(this::delete);
  }

  private void set(RoutingContext ctx) {
    Responses.body(ctx, bodyLimit)
        .compose(bytes -> {
          try {
            MultiMap q = Params.query(ctx);
            Consistency w = Params.consistency(q, "w", config.writeConsistency());
            RecordFields f = parseSetBody(bytes);
            long ttl = q.contains("ttl") ? RecordFields.parseTtl(q.get("ttl")) : f.ttlSeconds();
            long expiresAt = ttl > 0 ? config.wallMillis() + ttl * 1000 : 0;
            return write(new WriteRequest(f.key(), f.value(), false, expiresAt, w));
          } catch (BadRequest e) {
            return Future.failedFuture(e);
          }
        })
        .onSuccess(out -> answers.answer(ctx, out.request(), out.outcome(), "success"))
        .onFailure(t -> Responses.fail(ctx, t));
  }

  private void delete(RoutingContext ctx) {
    try {
      MultiMap q = Params.query(ctx);
      String key = Params.key(q);
      Consistency w = Params.consistency(q, "w", config.writeConsistency());
      write(new WriteRequest(key, null, true, 0, w))
          .onSuccess(out -> answers.answer(ctx, out.request(), out.outcome(), "deleted"))
          .onFailure(t -> Responses.fail(ctx, t));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
    }
  }

  private void get(RoutingContext ctx) {
    try {
      MultiMap q = Params.query(ctx);
      String key = Params.key(q);
      Consistency r = Params.consistency(q, "r", config.readConsistency());
      reads.read(new ReadRequest(key, r))
          .onSuccess(out -> answerRead(ctx, key, out))
          .onFailure(t -> Responses.fail(ctx, t));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
    }
  }

  private record Written(WriteRequest request, WriteOutcome outcome) {}

  private Future<Written> write(WriteRequest req) {
    return writes.write(req).map(out -> new Written(req, out));
  }

  /** {@code /set} body: one object with key, value and optional ttl; nothing after it. */
  private RecordFields parseSetBody(byte[] bytes) throws BadRequest {
    RecordFields f = RecordFields.parseSingle(bytes, config.maxValueBytes());
    if (!f.hasValue()) {
      throw BadRequest.of("missing_value", "value is required (any JSON value, null included)");
    }
    return f;
  }

  void answerRead(RoutingContext ctx, String key, ReadOutcome out) {
    if (!out.met()) {
      Responses.json(ctx, 503, new JsonObject()
          .put("error", "unavailable")
          .put("message", "read consistency " + out.level().wireName() + " needs " + out.required()
              + " replica answers" + (out.joint() ? WriteAnswer.JOINT : "") + ", got " + out.answered())
          .put("required", out.required())
          .put("answered", out.answered())
          .put("asked", out.asked())
          .put("replicas", out.replicas()));
      return;
    }
    Record r = out.newest();
    if (r == null || r.isAbsentAt(config.wallMillis())) {
      Responses.error(ctx, 404, "not_found", "key not found");
      return;
    }
    StringBuilder sb = new StringBuilder(128 + key.length() + r.value().length());
    sb.append("{\"key\":");
    Json.quote(sb, key);
    sb.append(",\"value\":").append(r.value()).append(',').append(nodeIdField)
        .append(",\"version\":\"").append(r.version()).append('"');
    if (r.expiresAt() > 0) {
      sb.append(",\"expires_at\":").append(r.expiresAt());
    }
    sb.append(",\"consistency\":{\"level\":\"").append(out.level().wireName())
        .append("\",\"asked\":").append(out.asked())
        .append(",\"answered\":").append(out.answered())
        .append(",\"repaired\":").append(out.repaired()).append("}}");
    Responses.json(ctx, 200, sb.toString());
  }
}
