package io.distributedsqlite.replication;

import io.distributedsqlite.cluster.Batcher;
import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.storage.Record;
import io.vertx.core.Future;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The write path to one replica: a peer ({@code /internal/apply}) or this node's storage worker
 * (one {@code Apply} command on the event bus), as a {@link Batcher}: while {@link #MAX_IN_FLIGHT}
 * batches are out, new records queue up and leave together in the next one (up to
 * {@link #MAX_BATCH} records and {@link #MAX_BATCH_WEIGHT} characters). Each record's future
 * completes, when the replica committed the batch that carried it, with what the replica did
 * with that record (applied, superseded by a newer version, refused as too far ahead), and fails
 * with the batch's cause. {@link #hold()} keeps a client batch's records together.
 */
final class ReplicaLink extends Batcher<Record, ApplyResult.Outcome> {
  static final int MAX_IN_FLIGHT = 2;
  static final int MAX_BATCH = 256;
  static final int MAX_BATCH_WEIGHT = 4 << 20;

  /** At most {@code maxQueued} records wait; beyond that {@link #send} fails at once with {@code queueFull}. */
  ReplicaLink(Function<List<Record>, Future<ApplyResult>> apply, int maxQueued, Supplier<Throwable> queueFull) {
    super(records -> apply.apply(records).map(ApplyResult::outcomes),
        Batcher.Limits.<Record>of(MAX_IN_FLIGHT, MAX_BATCH).weighing(Record::weight, MAX_BATCH_WEIGHT).queueAtMost(maxQueued, queueFull));
  }
}
