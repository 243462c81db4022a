package io.distributedsqlite.http;

import io.distributedsqlite.replication.WriteOutcome;
import io.distributedsqlite.replication.WriteRequest;
import io.distributedsqlite.storage.WriteRefused;
import io.distributedsqlite.wire.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * The answer to a coordinated write: {@code {"status",…,"version","consistency"}} once it met its
 * level, else the refusal with the counts. Shared by the client writes ({@code /set},
 * {@code /delete}) and the original tools' versionless {@code /internal/set} and
 * {@code /internal/delete}, which answer alike.
 */
final class WriteAnswer {
  /** What a level needs while the key's replicas move in a membership change (joint quorums). */
  static final String JOINT = " among its current replicas and as many among its next ones (a membership change is in progress)";

  private final String nodeIdField;

  WriteAnswer(String nodeName) {
    this.nodeIdField = Json.nodeIdField(nodeName);
  }

  void answer(RoutingContext ctx, WriteRequest req, WriteOutcome out, String status) {
    if (!out.met()) {
      WriteRefused refused = out.refusal();
      if (refused != null) {
        RefusalAnswer.of(refused).send(ctx);
        return;
      }
      Responses.json(ctx, 503, new JsonObject()
          .put("error", "unavailable")
          .put("message", "write consistency " + req.level().wireName() + " needs " + out.required()
              + " replica acknowledgements" + (out.joint() ? JOINT : "") + ", got " + out.acked())
          .put("required", out.required())
          .put("acked", out.acked())
          .put("replicas", out.replicas()));
      return;
    }
    StringBuilder sb = new StringBuilder(96 + req.key().length());
    sb.append("{\"status\":\"").append(status).append("\",").append(nodeIdField).append(",\"key\":");
    Json.quote(sb, req.key());
    sb.append(",\"version\":\"").append(out.version()).append("\",\"consistency\":{\"level\":\"")
        .append(req.level().wireName()).append("\",\"required\":").append(out.required())
        .append(",\"acked\":").append(out.acked());
    if (out.restamps() > 0) {
      // The first stamp lost to a newer version a replica held; the write was stamped again above it.
      sb.append(",\"restamped\":").append(out.restamps());
    }
    sb.append("}}");
    Responses.json(ctx, 200, sb.toString());
  }
}
