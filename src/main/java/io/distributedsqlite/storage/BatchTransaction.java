package io.distributedsqlite.storage;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One group commit: every command of a batch runs in one transaction, committed together with
 * the clock's high-water mark. The first run uses no savepoints (the common case pays nothing for
 * them). If a command fails, the transaction is rolled back and the batch runs again with each
 * command in its own savepoint, so only the failing commands fail ({@link CommandResult.Failed})
 * and the others commit. The batch fails as a whole only when it is a single command, when
 * COMMIT fails, or when SQLite itself rolled the transaction back (SQLITE_FULL, some I/O errors).
 * Storage worker thread only.
 */
final class BatchTransaction {
  private static final Logger log = LoggerFactory.getLogger(BatchTransaction.class);

  /** A committed batch: one result per command, in order, and the changes it committed, in order. */
  record Committed(List<CommandResult> results, List<Change> changes) {}

  private final SqliteStore store;
  private final HybridLogicalClock clock;
  private final CommandExecutor executor;

  BatchTransaction(SqliteStore store, HybridLogicalClock clock, int hintMaxPerPeer) {
    this.store = store;
    this.clock = clock;
    this.executor = new CommandExecutor(store, clock, hintMaxPerPeer);
  }

  /**
   * Runs and commits {@code commands}. Throws, with nothing committed and the store ready for the
   * next transaction, when the batch failed as a whole.
   */
  Committed run(List<StorageCommand> commands) throws SQLException {
    List<Change> changes = new ArrayList<>();
    try {
      List<CommandResult> results;
      try {
        results = runAll(commands, changes, false);
      } catch (SQLException first) {
        // Rare: some command failed. Undo, then run the batch again with each command in its
        // own savepoint, so only the failing commands fail.
        store.rollback();
        store.recover();
        if (commands.size() == 1) {
          throw first;
        }
        changes.clear();
        results = runAll(commands, changes, true);
      }
      return new Committed(results, changes);
    } catch (SQLException e) {
      store.rollback();
      store.recover();
      throw e;
    }
  }

  /**
   * Runs every command in the open transaction and commits it. With {@code isolate} each command
   * runs in its own savepoint, and a failing one is undone and answered {@link CommandResult.Failed}
   * instead of failing the batch (unless SQLite itself rolled the whole transaction back).
   */
  private List<CommandResult> runAll(List<StorageCommand> commands, List<Change> changes, boolean isolate)
      throws SQLException {
    List<CommandResult> results = new ArrayList<>(commands.size());
    for (StorageCommand cmd : commands) {
      if (!isolate) {
        results.add(executor.execute(cmd, changes));
        continue;
      }
      int mark = changes.size();
      store.savepoint();
      try {
        CommandResult result = executor.execute(cmd, changes);
        store.releaseSavepoint(true);
        results.add(result);
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
        results.add(new CommandResult.Failed(WriteRefused.of(e)));
      }
    }
    store.saveHighWater(clock.highWater());
    store.commit();
    return results;
  }
}
