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
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The one worker verticle that owns the SQLite write connection. It takes {@link StorageCommand}s
 * off the event bus and commits them in group-commit batches: everything queued when a transaction
 * starts (up to WRITE_BATCH_MAX records) goes into that transaction, and each command is answered
 * only after the transaction committed, so an acknowledgement means the write is durable.
 *
 * <p>A batch runs without savepoints. If a command fails, the batch is rolled back and run again
 * with each command in its own savepoint, so one bad command fails alone instead of taking its
 * batch down. (Coordinators coalesce their local writes, so one {@code Apply} command can carry
 * many client writes; they succeed or fail together.) When the queue holds WRITE_QUEUE_MAX
 * commands, new ones are refused with 503 (backpressure) rather than growing memory.
 */
public final class StorageVerticle extends VerticleBase {
  public static final String ADDRESS = "storage.write";
  /** Failure codes of a refused command, mirrored into HTTP statuses by the callers. */
  public static final int QUEUE_FULL = 503;
  public static final int DISK_FULL = 507;
  public static final int STORAGE_ERROR = 500;

  private static final Logger log = LoggerFactory.getLogger(StorageVerticle.class);

  private final SqliteStore store;
  private final HybridLogicalClock clock;
  private final int batchMax;
  private final int queueMax;
  private final int hintMaxPerPeer;
  private final io.micrometer.core.instrument.Counter hintsDropped;
  private final io.micrometer.core.instrument.Counter refusedFuture;
  private final ChangeListener listener;
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
    this.hintMaxPerPeer = hintMaxPerPeer;
    this.hintsDropped = io.micrometer.core.instrument.Counter.builder("dsqlite_hints_dropped")
        .description("Hints not kept because the peer had HINT_MAX_PER_PEER already").register(registry);
    this.refusedFuture = io.micrometer.core.instrument.Counter.builder("dsqlite_records_refused_future")
        .description("Records refused because their version was stamped beyond the future cap of this node's clock").register(registry);
    this.store = store;
    this.clock = clock;
    this.batchMax = batchMax;
    this.queueMax = queueMax;
    this.listener = listener;
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
      msg.fail(QUEUE_FULL, "write queue is full (" + queueMax + " commands)");
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
    int records = 0;
    while (!queue.isEmpty() && (records == 0 || records + queue.peek().body().size() <= batchMax)) {
      Message<StorageCommand> m = queue.poll();
      batch.add(m);
      records += m.body().size();
    }
    depth.set(queue.size());
    if (batch.isEmpty()) {
      return;
    }
    long start = System.nanoTime();
    Object[] results = new Object[batch.size()];
    List<Record[]> changes = new ArrayList<>();
    try {
      try {
        runBatch(batch, results, changes, false);
      } catch (SQLException first) {
        // Rare: some command failed. Undo, then run the batch again with each command in its
        // own savepoint, so only the failing commands fail.
        store.rollback();
        store.recover();
        if (batch.size() == 1) {
          throw first;
        }
        java.util.Arrays.fill(results, null);
        changes.clear();
        runBatch(batch, results, changes, true);
      }
    } catch (SQLException e) {
      store.rollback();
      store.recover();
      diskFailing.accept(true);
      log.error("group commit of {} commands failed: {}", batch.size(), e.getMessage());
      for (Message<StorageCommand> m : batch) {
        m.fail(failureCode(e), e.getMessage());
      }
      scheduleIfQueued();
      return;
    }
    commitLatency.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
    batchSize.record(records);
    for (Record[] change : changes) {
      listener.changed(change[0], change[1]);
    }
    boolean anyFailed = false;
    for (Object r : results) {
      anyFailed |= r instanceof SQLException e && failureCode(e) == DISK_FULL;
    }
    diskFailing.accept(anyFailed);
    countRefused(results);
    for (int i = 0; i < batch.size(); i++) {
      if (results[i] instanceof SQLException e) {
        batch.get(i).fail(failureCode(e), e.getMessage());
      } else {
        if (batch.get(i).body() instanceof StorageCommand.StoreHints h && results[i] instanceof Integer kept) {
          hintsDropped.increment(h.records().size() - kept);
        }
        batch.get(i).reply(results[i]);
      }
    }
    scheduleIfQueued();
  }

  /**
   * Runs every command of the batch in one transaction and commits it. With {@code isolate} each
   * command runs in its own savepoint and a failing one is recorded in {@code results} instead of
   * failing the batch (unless SQLite itself rolled the whole transaction back).
   */
  private void runBatch(List<Message<StorageCommand>> batch, Object[] results, List<Record[]> changes, boolean isolate)
      throws SQLException {
    for (int i = 0; i < batch.size(); i++) {
      if (!isolate) {
        results[i] = execute(batch.get(i).body(), changes);
        continue;
      }
      int mark = changes.size();
      store.savepoint();
      try {
        results[i] = execute(batch.get(i).body(), changes);
        store.releaseSavepoint(true);
      } catch (SQLException e) {
        store.recover();
        try {
          store.releaseSavepoint(false);
        } catch (SQLException rolledBack) {
          // SQLite already rolled the whole transaction back (it does on SQLITE_FULL and some
          // I/O errors): the batch is lost as a whole and fails with the original cause.
          throw e;
        }
        changes.subList(mark, changes.size()).clear();
        log.warn("write command failed alone: {}", e.getMessage());
        results[i] = e;
      }
    }
    store.saveHighWater(clock.highWater());
    store.commit();
  }

  /** Counts (and logs once per batch) the records refused as stamped beyond the future cap. */
  private void countRefused(Object[] results) {
    int refused = 0;
    for (Object r : results) {
      if (r instanceof ApplyResult a) {
        refused += a.count(ApplyResult.Kind.REFUSED_FUTURE);
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

  private Object execute(StorageCommand cmd, List<Record[]> changes) throws SQLException {
    long now = clock.wallMillis();
    if (cmd instanceof StorageCommand.Apply a) {
      return apply(a.records(), changes);
    } else if (cmd instanceof StorageCommand.StoreHints h) {
      int kept = 0;
      for (Record r : h.records()) {
        kept += store.storeHint(h.peer(), r, now, hintMaxPerPeer) ? 1 : 0;
      }
      return kept; // hints not kept are counted once the batch committed (a re-run batch counts once)
    } else if (cmd instanceof StorageCommand.DeleteHints d) {
      store.deleteHints(d.peer(), d.ids());
      return d.ids().size();
    } else if (cmd instanceof StorageCommand.DropOldHints d) {
      return store.dropHintsOlderThan(d.peer(), d.createdBeforeMillis());
    } else if (cmd instanceof StorageCommand.DropStrays d) {
      int dropped = 0;
      for (Record r : d.records()) {
        if (store.deleteIfVersion(r)) {
          dropped++;
          changes.add(new Record[] {r, null});
        }
      }
      return dropped;
    } else if (cmd instanceof StorageCommand.PutMeta m) {
      store.putMeta(m.name(), m.value());
      return 1;
    } else {
      List<Record> purged = store.purgeTombstonesBefore(((StorageCommand.PurgeTombstones) cmd).beforeHlc());
      for (Record r : purged) {
        changes.add(new Record[] {r, null});
      }
      return new io.vertx.core.json.JsonObject().put("purged", purged.size()).put("purged_up_to", store.purgedUpTo());
    }
  }

  /**
   * The storage boundary of every write path (client writes, /internal/apply, read repair, hint
   * replay, anti-entropy): per record, one stamped beyond the future cap is refused (not stored,
   * not observed, so neither the clock nor the persisted high-water mark moves); any other moves
   * the clock past its version and is merged. A record that loses to the stored version reports
   * that version, so its coordinator can re-stamp the write.
   */
  private ApplyResult apply(List<Record> records, List<Record[]> changes) throws SQLException {
    ApplyResult.Outcome[] out = new ApplyResult.Outcome[records.size()];
    for (int i = 0; i < out.length; i++) {
      Record r = store.storedForm(records.get(i)); // listeners (the record cache) get what a read of the file returns
      if (!clock.observe(r.version())) {
        out[i] = ApplyResult.Outcome.REFUSED_FUTURE;
        continue;
      }
      Record previous = store.apply(r);
      if (previous != r) {
        out[i] = ApplyResult.Outcome.APPLIED;
        changes.add(new Record[] {previous, r});
        continue;
      }
      // Rare: the store kept a version at least as new. Equal means this very write was already here.
      Record kept = store.current(r.key());
      out[i] = kept != null && kept.version().isNewerThan(r.version())
          ? ApplyResult.Outcome.supersededBy(kept.version()) : ApplyResult.Outcome.APPLIED;
    }
    return new ApplyResult(java.util.Arrays.asList(out));
  }

  private static int failureCode(SQLException e) {
    if (e instanceof SQLiteException se) {
      SQLiteErrorCode code = se.getResultCode();
      if (code == SQLiteErrorCode.SQLITE_FULL || code.name().startsWith("SQLITE_IOERR")) {
        return DISK_FULL;
      }
    }
    return STORAGE_ERROR;
  }
}
