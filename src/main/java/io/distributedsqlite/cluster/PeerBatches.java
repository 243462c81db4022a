package io.distributedsqlite.cluster;

import io.distributedsqlite.config.PeerLimits;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * Cutting what goes to a peer into requests it accepts, and getting past records it refuses.
 * Shared by hint replay and anti-entropy pushes.
 */
final class PeerBatches {
  private PeerBatches() {}

  /**
   * Consecutive batches of at most {@code maxCount} items and {@link PeerLimits#BATCH_BYTES} bytes
   * by {@code bytes}; an item larger than that is a batch of its own.
   */
  static <T> List<List<T>> split(List<T> items, ToIntFunction<T> bytes, int maxCount) {
    List<List<T>> out = new ArrayList<>();
    List<T> batch = new ArrayList<>();
    long total = 0;
    for (T item : items) {
      int n = bytes.applyAsInt(item);
      if (batch.size() >= maxCount || !PeerLimits.fits(batch.size(), total, n)) {
        out.add(batch);
        batch = new ArrayList<>();
        total = 0;
      }
      batch.add(item);
      total += n;
    }
    if (!batch.isEmpty()) {
      out.add(batch);
    }
    return out;
  }

  /**
   * Sends {@code batch}; when the peer refuses its content (400 or 413: a record too large or
   * invalid there), sends each half on its own, down to single items, so one bad record cannot
   * hold back the others. Succeeds with the items the peer refused alone (empty when it took
   * everything); fails on anything else (peer down, overloaded, disk full), to be retried later.
   */
  static <T> Future<List<T>> deliver(List<T> batch, Function<List<T>, Future<?>> send) {
    return send.apply(batch).<List<T>>map(v -> List.of()).recover(t -> {
      if (!(t instanceof PeerRefused refused) || !refused.refusesContent()) {
        return Future.failedFuture(t);
      }
      if (batch.size() == 1) {
        return Future.succeededFuture(List.of(batch.get(0)));
      }
      int half = batch.size() / 2;
      List<T> out = new ArrayList<>();
      return deliver(batch.subList(0, half), send)
          .compose(first -> {
            out.addAll(first);
            return deliver(batch.subList(half, batch.size()), send);
          })
          .map(second -> {
            out.addAll(second);
            return out;
          });
    });
  }
}
