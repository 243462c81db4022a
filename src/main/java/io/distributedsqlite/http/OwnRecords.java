package io.distributedsqlite.http;

import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.wire.BadRequest;
import io.distributedsqlite.wire.RecordJson;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * This node's own records for a peer that names the keys it wants: the answer of quorum reads
 * ({@code /internal/read}) and of repair ({@code /internal/records}). Also decides what a stray is:
 * a copy of a key this node does not replicate (a legacy write's local copy), never served to peers.
 */
final class OwnRecords {
  private final NodeServices services;
  private final int bodyLimit;

  OwnRecords(NodeServices services) {
    this.services = services;
    // Senders keep their batches within PeerLimits (one record alone when it is larger).
    this.bodyLimit = PeerLimits.bodyLimit(services.config().maxValueBytes());
  }

  /**
   * Answers the records of the asked keys that fit the byte budget, and names the keys it left
   * out ({@code unserved}) so the asker asks for them again; a record larger than the budget is
   * answered alone. Without {@code max_bytes} (a node from before paging) the answer is the plain
   * array, or 413 when it would not fit one page. Reads stop at the budget, so no more than one
   * page of values is ever held for an answer. Quorum reads fill the record cache; repair reads
   * ({@code fillCache} false) do not evict what clients read.
   */
  void answerKeys(RoutingContext ctx, boolean fillCache, Consumer<List<Record>> filter) {
    boolean paged;
    long budget;
    try {
      paged = Params.query(ctx).contains("max_bytes");
      budget = paged ? Params.intParam(ctx, "max_bytes", 1, PeerLimits.BATCH_BYTES) : PeerLimits.BATCH_BYTES;
    } catch (BadRequest e) {
      Responses.error(ctx, e);
      return;
    }
    readKeys(ctx, budget, fillCache).onSuccess(served -> {
      List<Record> records = new ArrayList<>(served.records());
      filter.accept(records);
      if (paged) {
        Responses.json(ctx, 200, RecordJson.encodePage(records, served.unserved(), null));
      } else if (served.unserved().isEmpty()) {
        Responses.json(ctx, 200, RecordJson.encodeList(records));
      } else {
        Responses.error(ctx, 413, "response_too_large", "the records asked for are larger than one answer; ask with max_bytes=");
      }
    }).onFailure(t -> Responses.fail(ctx, t));
  }

  private Future<RecordReader.Served> readKeys(RoutingContext ctx, long budget, boolean fillCache) {
    return Responses.body(ctx, bodyLimit).compose(bytes -> {
      try {
        JsonArray keys = new JsonArray(io.vertx.core.buffer.Buffer.buffer(bytes));
        if (keys.size() > 10_000) {
          throw BadRequest.of("too_many_keys", "at most 10000 keys per request");
        }
        List<String> list = new ArrayList<>();
        for (Object k : keys) {
          if (!(k instanceof String s)) {
            throw BadRequest.of("invalid_body", "expected a JSON array of key strings");
          }
          list.add(s);
        }
        return services.reader().records(list, budget, RecordJson::wireBytes, fillCache);
      } catch (BadRequest e) {
        return Future.failedFuture(e);
      } catch (RuntimeException e) {
        return Future.failedFuture(BadRequest.of("invalid_json", "expected a JSON array of key strings"));
      }
    });
  }

  /** A copy of a key this node does not replicate (a legacy write's local copy): never served to peers. */
  boolean isStray(Record r) {
    return !services.view().placement().isReplica(r.key(), services.config().nodeId());
  }
}
