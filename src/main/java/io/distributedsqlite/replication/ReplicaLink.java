package io.distributedsqlite.replication;

import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.storage.Record;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The write path to one replica: a peer ({@code /internal/apply}) or this node's storage worker
 * (one {@code Apply} command on the event bus). Coalesces: while {@link #MAX_IN_FLIGHT} batches
 * are out, new records queue up and leave together in the next one (up to {@link #MAX_BATCH}
 * records), so under load one request or command carries many client writes. Each record's
 * future completes, when the replica committed the batch that carried it, with what the replica
 * did with that record (applied, superseded by a newer version, refused as too far ahead), and
 * fails with the batch's cause.
 */
final class ReplicaLink {
  static final int MAX_IN_FLIGHT = 2;
  static final int MAX_BATCH = 256;
  static final int MAX_BATCH_WEIGHT = 4 << 20;

  private record Pending(Record record, Promise<ApplyResult.Outcome> promise) {}

  private final Function<List<Record>, Future<ApplyResult>> apply;
  private final int maxQueued;
  private final Supplier<Throwable> queueFull;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int inFlight;
  /** While held, records queue without leaving; see {@link #hold()}. */
  private boolean held;
  /** Records queued during the last hold, to leave together in one batch beyond {@link #MAX_BATCH}. */
  private int heldBatch;

  /** At most {@code maxQueued} records wait; beyond that {@link #send} fails at once with {@code queueFull}. */
  ReplicaLink(Function<List<Record>, Future<ApplyResult>> apply, int maxQueued, Supplier<Throwable> queueFull) {
    this.apply = apply;
    this.maxQueued = maxQueued;
    this.queueFull = queueFull;
  }

  Future<ApplyResult.Outcome> send(Record record) {
    if (queue.size() >= maxQueued) {
      return Future.failedFuture(queueFull.get());
    }
    Promise<ApplyResult.Outcome> p = Promise.promise();
    queue.add(new Pending(record, p));
    pump();
    return p.future();
  }

  /**
   * Holds the records sent from now on until {@link #release()}, which sends them together: the
   * ops of one client batch reach this replica in one request (one transaction there), up to
   * {@link #MAX_BATCH_WEIGHT} bytes per request, instead of trickling out as single records.
   */
  void hold() {
    held = true;
  }

  void release() {
    held = false;
    heldBatch = queue.size();
    pump();
  }

  /** Fails everything queued, e.g. when the peer is seen down; callers hint those writes. */
  void failQueued(String reason) {
    while (!queue.isEmpty()) {
      queue.poll().promise().tryFail(reason);
    }
  }

  private void pump() {
    while (!held && inFlight < MAX_IN_FLIGHT && !queue.isEmpty()) {
      int maxCount = Math.max(MAX_BATCH, heldBatch);
      heldBatch = 0;
      List<Pending> batch = new ArrayList<>();
      List<Record> records = new ArrayList<>();
      int weight = 0;
      while (!queue.isEmpty() && batch.size() < maxCount && (batch.isEmpty() || weight + queue.peek().record().weight() <= MAX_BATCH_WEIGHT)) {
        Pending p = queue.poll();
        batch.add(p);
        records.add(p.record());
        weight += p.record().weight();
      }
      inFlight++;
      apply.apply(records).onComplete(ar -> {
        inFlight--;
        for (int i = 0; i < batch.size(); i++) {
          Pending p = batch.get(i);
          if (ar.succeeded() && ar.result().size() == batch.size()) {
            p.promise().tryComplete(ar.result().get(i));
          } else if (ar.succeeded()) {
            p.promise().tryFail("the replica answered for " + ar.result().size() + " of " + batch.size() + " records");
          } else {
            p.promise().tryFail(ar.cause());
          }
        }
        pump();
      });
    }
  }
}
