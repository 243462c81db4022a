package io.distributedsqlite.read;

import io.distributedsqlite.storage.Record;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Coalesces point reads against one replica (this node's read pool, or one peer's
 * {@code /internal/read}): while {@link #MAX_IN_FLIGHT} fetches are out, new keys wait and go
 * together in the next fetch (up to {@link #MAX_BATCH} keys). An idle replica is asked at once;
 * a busy one gets one request for many client reads instead of one each. One fetch in flight
 * rather than two: under load the larger batches save more CPU per read than the wait for the
 * previous fetch adds (BENCHMARKS.md has the measurement).
 */
final class ReadBatcher {
  static final int MAX_IN_FLIGHT = 1;
  static final int MAX_BATCH = 128;

  private final Function<List<String>, Future<List<Record>>> fetch;
  private final LinkedHashMap<String, List<Promise<Record>>> waiting = new LinkedHashMap<>();
  private int inFlight;

  ReadBatcher(Function<List<String>, Future<List<Record>>> fetch) {
    this.fetch = fetch;
  }

  /** The replica's record for {@code key} (tombstones included), or null when it has none. */
  Future<Record> get(String key) {
    Promise<Record> p = Promise.promise();
    waiting.computeIfAbsent(key, k -> new ArrayList<>(1)).add(p);
    pump();
    return p.future();
  }

  private void pump() {
    while (inFlight < MAX_IN_FLIGHT && !waiting.isEmpty()) {
      Map<String, List<Promise<Record>>> batch = new HashMap<>();
      var it = waiting.entrySet().iterator();
      while (it.hasNext() && batch.size() < MAX_BATCH) {
        var e = it.next();
        batch.put(e.getKey(), e.getValue());
        it.remove();
      }
      inFlight++;
      fetch.apply(new ArrayList<>(batch.keySet())).onComplete(ar -> {
        inFlight--;
        if (ar.succeeded()) {
          for (Record r : ar.result()) {
            List<Promise<Record>> ps = batch.remove(r.key());
            if (ps != null) {
              ps.forEach(p -> p.tryComplete(r));
            }
          }
          batch.values().forEach(ps -> ps.forEach(p -> p.tryComplete(null)));
        } else {
          batch.values().forEach(ps -> ps.forEach(p -> p.tryFail(ar.cause())));
        }
        pump();
      });
    }
  }
}
