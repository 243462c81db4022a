package io.distributedsqlite.http;

import io.distributedsqlite.wire.Json;
import io.distributedsqlite.wire.BadRequest;

import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.replication.WriteCoordinator;
import io.distributedsqlite.replication.WriteOutcome;
import io.distributedsqlite.replication.WriteRequest;
import io.distributedsqlite.storage.WriteRefused;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /batch?w=}: many sets and deletes in one request. The whole body is validated
 * first (nothing is written when any op is bad); then each op is coordinated like its single-key
 * form at the request's {@code w} through this event loop's {@link WriteCoordinator}, which sends
 * each replica its share of the batch together. Not atomic across keys: the answer lists each
 * op's own outcome, 200 when every op met {@code w}, 207 when some did not.
 */
final class BatchRoutes {
  private final NodeConfig config;
  private final WriteCoordinator writes;

  BatchRoutes(NodeConfig config, WriteCoordinator writes) {
    this.config = config;
    this.writes = writes;
  }

  void mount(Router router) {
    router.post("/batch").handler(new ClientAuth(config.apiTokens())::requireWrite).handler(this::batch);
  }

  private void batch(RoutingContext ctx) {
    Consistency w;
    try {
      w = Params.consistency(Params.query(ctx), "w", config.writeConsistency());
    } catch (BadRequest e) {
      Responses.error(ctx, e);
      return;
    }
    Responses.body(ctx, config.batchMaxBytes())
        .compose(bytes -> {
          try {
            BatchOps batch = BatchOps.parse(bytes, config.batchMax(), config.maxValueBytes());
            long now = config.wallMillis();
            List<WriteRequest> reqs = new ArrayList<>(batch.ops().size());
            for (BatchOps.Op op : batch.ops()) {
              reqs.add(op.delete()
                  ? new WriteRequest(op.key(), null, true, 0, w)
                  : new WriteRequest(op.key(), op.value(), false, op.ttlSeconds() > 0 ? now + op.ttlSeconds() * 1000 : 0, w));
            }
            List<Future<WriteOutcome>> outcomes = writes.writeAll(reqs);
            return Future.join(outcomes).transform(ar -> Future.succeededFuture(answer(reqs, outcomes, w)));
          } catch (BadRequest e) {
            return Future.failedFuture(e);
          }
        })
        .onSuccess(body -> Responses.json(ctx, body.startsWith("{\"status\":\"success\"") ? 200 : 207, body))
        .onFailure(t -> Responses.fail(ctx, t));
  }

  private String answer(List<WriteRequest> reqs, List<Future<WriteOutcome>> outcomes, Consistency w) {
    int met = 0;
    StringBuilder results = new StringBuilder(reqs.size() * 120);
    for (int i = 0; i < reqs.size(); i++) {
      WriteRequest req = reqs.get(i);
      Future<WriteOutcome> f = outcomes.get(i);
      results.append(i == 0 ? "{\"key\":" : ",{\"key\":");
      Json.quote(results, req.key());
      results.append(",\"op\":\"").append(req.tombstone() ? "delete" : "set").append('"');
      WriteOutcome out = f.succeeded() ? f.result() : null;
      WriteRefused refused = f.succeeded() ? out.refusal() : WriteRefused.from(f.cause());
      if (out != null && out.met()) {
        met++;
        results.append(",\"status\":\"").append(req.tombstone() ? "deleted" : "success")
            .append("\",\"version\":\"").append(out.version()).append('"');
      } else if (refused != null) {
        // this node's own storage (queue or disk full) or its clock refused the op
        results.append(",\"status\":\"failed\",");
        RefusalAnswer.of(refused).appendFields(results);
      } else if (out != null) {
        results.append(",\"status\":\"failed\",\"error\":\"unavailable\",\"message\":\"write consistency ")
            .append(w.wireName()).append(" needs ").append(out.required()).append(" replica acknowledgements")
            .append(out.joint() ? WriteAnswer.JOINT : "").append(", got ")
            .append(out.acked()).append('"');
      } else {
        results.append(",\"status\":\"failed\",\"error\":\"internal\",\"message\":\"the write could not be coordinated\"");
      }
      if (out != null) {
        results.append(",\"required\":").append(out.required()).append(",\"acked\":").append(out.acked());
      }
      results.append('}');
    }
    StringBuilder sb = new StringBuilder(results.length() + 160);
    sb.append("{\"status\":\"").append(met == reqs.size() ? "success" : "partial").append("\",")
        .append(Json.nodeIdField(config.nodeName()))
        .append(",\"consistency\":\"").append(w.wireName()).append('"')
        .append(",\"ops\":").append(reqs.size()).append(",\"met\":").append(met)
        .append(",\"results\":[").append(results).append("]}");
    return sb.toString();
  }
}
