package io.distributedsqlite.storage;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one worker verticle that owns the SQLite write connection. It takes {@link StorageCommand}s
 * off the event bus and commits them in group-commit batches: everything queued when a transaction
 * starts (up to WRITE_BATCH_MAX records) goes into one {@link BatchTransaction}, and each command is
 * answered only after the transaction committed, so an acknowledgement means the write is durable.
 * A command that fails alone is refused with its {@link WriteRefused} while the rest of its batch
 * commits. (Coordinators coalesce their local writes, so one {@code Apply} command can carry many
 * client writes; they succeed or fail together.) When the queue holds WRITE_QUEUE_MAX commands,
 * new ones are refused as {@link WriteRefused.Reason#OVERLOADED} (backpressure) rather than
 * growing memory.
 */
public final class StorageVerticle extends VerticleBase {
  public static final String ADDRESS = "storage.write";

  private static final Logger log = LoggerFactory.getLogger(StorageVerticle.class);

  private final SqliteStore store;
  private final HybridLogicalClock clock;
  private final int batchMax;
  private final int queueMax;
  private final io.micrometer.core.instrument.Counter hintsDropped;
  private final io.micrometer.core.instrument.Counter refusedFuture;
  private final ChangeListener listener;
  private final BatchTransaction transaction;
  private final ArrayDeque<Message<StorageCommand>> queue = new ArrayDeque<>();
  private final AtomicInteger depth = new AtomicInteger();
  private final DistributionSummary batchSize;
  private final Timer commitLatency;
  private final java.util.function.Consumer<Boolean> diskFailing;
  private MessageConsumer<StorageCommand> consumer;
  private boolean flushScheduled;

  public StorageVerticle(SqliteStore store, HybridLogicalClock clock, int batchMax, int queueMax,
      int hintMaxPerPeer, ChangeListener listener, MeterRegistry registry) {
    this(store, clock, batchMax, queueMax, hintMaxPerPeer, listener, registry, failing -> {});
  }

  /** {@code diskFailing} hears true when the disk refuses writes (full, I/O error), false once a commit succeeds again. */
  public StorageVerticle(SqliteStore store, HybridLogicalClock clock, int batchMax, int queueMax,
      int hintMaxPerPeer, ChangeListener listener, MeterRegistry registry, java.util.function.Consumer<Boolean> diskFailing) {
    this.diskFailing = diskFailing;
    this.hintsDropped = io.micrometer.core.instrument.Counter.builder("dsqlite_hints_dropped")
        .description("Hints not kept because the peer had HINT_MAX_PER_PEER already").register(registry);
    this.refusedFuture = io.micrometer.core.instrument.Counter.builder("dsqlite_records_refused_future")
        .description("Records refused because their version was stamped beyond the future cap of this node's clock").register(registry);
    this.store = store;
    this.clock = clock;
    this.batchMax = batchMax;
    this.queueMax = queueMax;
    this.listener = listener;
    this.transaction = new BatchTransaction(store, clock, hintMaxPerPeer);
    this.batchSize = DistributionSummary.builder("dsqlite_storage_batch_records")
        .description("Records committed per group-commit transaction").register(registry);
    this.commitLatency = Timer.builder("dsqlite_storage_commit_seconds")
        .description("Time to run and commit one group-commit transaction").publishPercentileHistogram().register(registry);
    Gauge.builder("dsqlite_storage_queue_depth", depth, AtomicInteger::get)
        .description("Write commands waiting for the storage worker").register(registry);
  }

  @Override
  public Future<?> start() {
    consumer = vertx.eventBus().consumer(ADDRESS, this::enqueue);
    return consumer.completion();
  }

  /** Stops taking commands, commits what is queued, and closes the database. */
  @Override
  public Future<?> stop() {
    return consumer.unregister().andThen(ar -> {
      while (!queue.isEmpty()) {
        flush();
      }
      try {
        store.close();
        log.info("storage closed: {}", store.file());
      } catch (SQLException e) {
        log.error("closing {} failed: {}", store.file(), e.getMessage());
      }
    });
  }

  private void enqueue(Message<StorageCommand> msg) {
    if (queue.size() >= queueMax) {
      new WriteRefused(WriteRefused.Reason.OVERLOADED, "write queue is full (" + queueMax + " commands)").failReply(msg);
      return;
    }
    queue.add(msg);
    depth.set(queue.size());
    if (!flushScheduled) {
      flushScheduled = true;
      // Runs after every message already delivered to this worker: they all join the batch.
      context.runOnContext(v -> flush());
    }
  }

  private void flush() {
    flushScheduled = false;
    List<Message<StorageCommand>> batch = new ArrayList<>();
    List<StorageCommand> commands = new ArrayList<>();
    int records = 0;
    while (!queue.isEmpty() && (records == 0 || records + queue.peek().body().size() <= batchMax)) {
      // A reindex runs in a batch of its own: the changes of the commands before it are reported
      // before it reads the file, none after it are read by it.
      if (!batch.isEmpty() && queue.peek().body() instanceof StorageCommand.Reindex) {
        break;
      }
      Message<StorageCommand> m = queue.poll();
      batch.add(m);
      commands.add(m.body());
      records += m.body().size();
      if (m.body() instanceof StorageCommand.Reindex) {
        break;
      }
    }
    depth.set(queue.size());
    if (batch.isEmpty()) {
      return;
    }
    long start = System.nanoTime();
    BatchTransaction.Committed committed;
    try {
      committed = transaction.run(commands);
    } catch (SQLException e) {
      diskFailing.accept(true);
      log.error("group commit of {} commands failed: {}", batch.size(), e.getMessage());
      WriteRefused refused = WriteRefused.of(e);
      for (Message<StorageCommand> m : batch) {
        refused.failReply(m);
      }
      scheduleIfQueued();
      return;
    }
    commitLatency.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
    batchSize.record(records);
    for (Change change : committed.changes()) {
      listener.changed(change.previous(), change.current());
    }
    List<CommandResult> results = committed.results();
    boolean anyFailed = false;
    for (CommandResult r : results) {
      anyFailed |= r instanceof CommandResult.Failed f && f.refusal().reason() == WriteRefused.Reason.DISK_FULL;
    }
    diskFailing.accept(anyFailed);
    countRefused(results);
    for (int i = 0; i < batch.size(); i++) {
      CommandResult r = results.get(i);
      if (r instanceof CommandResult.HintsStored h) {
        // counted once the batch committed (a batch run again counts once)
        hintsDropped.increment(h.dropped());
      }
      r.answer(batch.get(i));
    }
    scheduleIfQueued();
  }

  /** Counts (and logs once per batch) the records refused as stamped beyond the future cap. */
  private void countRefused(List<CommandResult> results) {
    int refused = 0;
    for (CommandResult r : results) {
      if (r instanceof CommandResult.Applied a) {
        refused += a.result().count(ApplyResult.Kind.REFUSED_FUTURE);
      }
    }
    if (refused > 0) {
      refusedFuture.increment(refused);
      log.warn("refused {} records stamped more than {} ms ahead of this node's clock ({}); their senders drop them",
          refused, clock.futureCapMillis(), java.time.Instant.ofEpochMilli(clock.wallMillis()));
    }
  }

  private void scheduleIfQueued() {
    if (!queue.isEmpty() && !flushScheduled) {
      flushScheduled = true;
      context.runOnContext(v -> flush());
    }
  }
}
