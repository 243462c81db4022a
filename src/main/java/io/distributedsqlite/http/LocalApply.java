package io.distributedsqlite.http;

import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.WriteRefused;
import io.distributedsqlite.wire.ApplyAnswer;
import io.distributedsqlite.wire.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/**
 * Applies versioned records on this node only, through the storage worker, which decides per
 * record (applied, superseded by a newer version, refused as stamped beyond the future cap); and
 * the answer peers read back. Shared by the replicas' {@code /internal/apply} and the versioned and
 * legacy forms of {@code /internal/set} and {@code /internal/delete}.
 */
final class LocalApply {
  private final Vertx vertx;
  private final String nodeIdField;

  LocalApply(Vertx vertx, String nodeName) {
    this.vertx = vertx;
    this.nodeIdField = Json.nodeIdField(nodeName);
  }

  Future<ApplyResult> apply(List<Record> records) {
    if (records.isEmpty()) {
      return Future.succeededFuture(ApplyResult.allApplied(0));
    }
    return vertx.eventBus().<ApplyResult>request(StorageVerticle.ADDRESS, new StorageCommand.Apply(records),
            new DeliveryOptions().setSendTimeout(30_000))
        .map(m -> m.body())
        .recover(t -> {
          WriteRefused refused = WriteRefused.from(t); // answered by Responses.fail through RefusalAnswer
          return Future.failedFuture(refused != null ? refused : t);
        });
  }

  void answer(RoutingContext ctx, ApplyResult result) {
    Responses.json(ctx, 200, ApplyAnswer.encode(result, nodeIdField));
  }
}
