package io.distributedsqlite.cluster;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

/**
 * A coalescing queue in front of one replica: items sent while {@link Limits#maxInFlight()}
 * batches are out wait and leave together in the next batch, so under load one request (or one
 * storage command) carries many callers' items, and an idle replica is asked at once. Each
 * caller's future completes with the result for its item when the batch that carried it
 * returns, and fails with the batch's cause. What differs between uses is in {@link Limits}:
 * how many batches may be out, how large a batch may be in items and in weight, how many items
 * may wait, and whether equal waiting items share one slot (reads of the same key).
 *
 * <p>The write path to a replica ({@code replication.ReplicaLink}) and the read path
 * ({@code read.ReadBatcher}) are configurations of this. Not thread-safe: use it from one event
 * loop.
 *
 * @param <T> what a caller sends (a record to apply, a key to read)
 * @param <R> what the replica answers for one item
 */
public class Batcher<T, R> {

  /**
   * How a batcher coalesces. {@code maxBatchWeight} bounds the sum of {@code weight} over a batch
   * (an item heavier than that leaves alone); beyond {@code maxQueued} waiting items,
   * {@link #send} fails at once with {@code queueFull}. {@code coalesce}: an item equal to one
   * still waiting joins it (one item in the batch, every caller gets its result).
   */
  public record Limits<T>(int maxInFlight, int maxBatch, int maxBatchWeight, ToIntFunction<? super T> weight,
      int maxQueued, Supplier<? extends Throwable> queueFull, boolean coalesce) {

    /** At most {@code maxInFlight} batches out, {@code maxBatch} items each; no weight or queue bound. */
    public static <T> Limits<T> of(int maxInFlight, int maxBatch) {
      return new Limits<>(maxInFlight, maxBatch, Integer.MAX_VALUE, item -> 0, Integer.MAX_VALUE, null, false);
    }

    public Limits<T> weighing(ToIntFunction<? super T> weight, int maxBatchWeight) {
      return new Limits<>(maxInFlight, maxBatch, maxBatchWeight, weight, maxQueued, queueFull, coalesce);
    }

    public Limits<T> queueAtMost(int maxQueued, Supplier<? extends Throwable> queueFull) {
      return new Limits<>(maxInFlight, maxBatch, maxBatchWeight, weight, maxQueued, queueFull, coalesce);
    }

    public Limits<T> coalescingEqualItems() {
      return new Limits<>(maxInFlight, maxBatch, maxBatchWeight, weight, maxQueued, queueFull, true);
    }
  }

  /** One item waiting or in flight, and every caller waiting for its result. */
  private static final class Slot<T, R> {
    final T item;
    final List<Promise<R>> callers = new ArrayList<>(1);

    Slot(T item) {
      this.item = item;
    }
  }

  private final Function<List<T>, Future<List<R>>> fetch;
  private final Limits<T> limits;
  private final ArrayDeque<Slot<T, R>> queue = new ArrayDeque<>();
  /** The waiting slots by item, when equal items coalesce. */
  private final Map<T, Slot<T, R>> waiting = new HashMap<>();
  private int inFlight;
  /** While held, items queue without leaving; see {@link #hold()}. */
  private boolean held;
  /** Items queued during the last hold, to leave together in one batch beyond {@link Limits#maxBatch()}. */
  private int heldBatch;

  /**
   * {@code fetch} sends one batch to the replica and answers with one result per item, in the
   * order of the items.
   */
  public Batcher(Function<List<T>, Future<List<R>>> fetch, Limits<T> limits) {
    this.fetch = fetch;
    this.limits = limits;
  }

  /** The replica's result for {@code item}, once the batch that carries it returned. */
  public Future<R> send(T item) {
    Slot<T, R> slot = limits.coalesce() ? waiting.get(item) : null;
    if (slot == null) {
      if (queue.size() >= limits.maxQueued()) {
        return Future.failedFuture(limits.queueFull().get());
      }
      slot = new Slot<>(item);
      queue.add(slot);
      if (limits.coalesce()) {
        waiting.put(item, slot);
      }
    }
    Promise<R> p = Promise.promise();
    slot.callers.add(p);
    pump();
    return p.future();
  }

  /**
   * Holds the items sent from now on until {@link #release()}, which sends them together: the
   * ops of one client batch reach the replica in one request (one transaction there), within the
   * weight bound, instead of trickling out one by one.
   */
  public void hold() {
    held = true;
  }

  public void release() {
    held = false;
    heldBatch = queue.size();
    pump();
  }

  /** Fails every caller of the items still waiting, e.g. when the replica is seen down. */
  public void failQueued(String reason) {
    waiting.clear();
    while (!queue.isEmpty()) {
      queue.poll().callers.forEach(p -> p.tryFail(reason));
    }
  }

  private void pump() {
    while (!held && inFlight < limits.maxInFlight() && !queue.isEmpty()) {
      int maxCount = Math.max(limits.maxBatch(), heldBatch);
      heldBatch = 0;
      List<Slot<T, R>> batch = new ArrayList<>();
      List<T> items = new ArrayList<>();
      long weight = 0;
      while (!queue.isEmpty() && batch.size() < maxCount
          && (batch.isEmpty() || weight + limits.weight().applyAsInt(queue.peek().item) <= limits.maxBatchWeight())) {
        Slot<T, R> slot = queue.poll();
        if (limits.coalesce()) {
          waiting.remove(slot.item);
        }
        batch.add(slot);
        items.add(slot.item);
        weight += limits.weight().applyAsInt(slot.item);
      }
      inFlight++;
      fetch.apply(items).onComplete(ar -> {
        inFlight--;
        for (int i = 0; i < batch.size(); i++) {
          for (Promise<R> p : batch.get(i).callers) {
            if (ar.succeeded() && ar.result().size() == batch.size()) {
              p.tryComplete(ar.result().get(i));
            } else if (ar.succeeded()) {
              p.tryFail("the replica answered for " + ar.result().size() + " of " + batch.size() + " items");
            } else {
              p.tryFail(ar.cause());
            }
          }
        }
        pump();
      });
    }
  }
}
