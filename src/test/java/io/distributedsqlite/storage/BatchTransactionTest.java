package io.distributedsqlite.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One group commit on a real SQLite file. A command that fails makes the batch run again with a
 * savepoint per command: the failing command alone is undone and answered with its refusal, the
 * others commit, and the changes reported for listeners are exactly the committed ones.
 */
class BatchTransactionTest {
  private static final Version V = Version.of(1_700_000_000_000L, 0, 0);

  @TempDir
  Path dir;
  private SqliteStore store;
  private BatchTransaction transaction;

  @BeforeEach
  void open() throws Exception {
    store = SqliteStore.open(dir, "NORMAL");
    transaction = new BatchTransaction(store, new HybridLogicalClock(0, 0, System::currentTimeMillis, 1_000), 10);
  }

  @AfterEach
  void close() throws Exception {
    store.close();
  }

  private static Record write(String key, String value) {
    return Record.write(key, value, V, 0);
  }

  @Test
  void aCommandThatFailsAloneIsUndoneWhileTheRestOfItsGroupCommitCommits() throws Exception {
    BatchTransaction.Committed committed = transaction.run(List.of(
        new StorageCommand.Apply(List.of(write("a", "1"))),
        // "half" is applied inside this command before its malformed second record fails it
        new StorageCommand.Apply(List.of(write("half", "2"), write("bad", "{not json"))),
        new StorageCommand.StoreHints(1, List.of(write("h", "3"))),
        new StorageCommand.Apply(List.of(write("b", "4"), write("c", "{\"x\":5}")))));

    List<CommandResult> results = committed.results();
    assertEquals(4, results.size(), "one result per command, in order");
    assertEquals(1, assertInstanceOf(CommandResult.Applied.class, results.get(0)).result().count(ApplyResult.Kind.APPLIED));
    WriteRefused refused = assertInstanceOf(CommandResult.Failed.class, results.get(1)).refusal();
    assertEquals(WriteRefused.Reason.STORAGE_ERROR, refused.reason(), refused::getMessage);
    assertNotNull(refused.getMessage(), "the failing command gets SQLite's error");
    assertEquals(new CommandResult.HintsStored(1, 1), results.get(2));
    assertEquals(2, assertInstanceOf(CommandResult.Applied.class, results.get(3)).result().count(ApplyResult.Kind.APPLIED));

    for (String key : List.of("a", "b", "c")) {
      assertNotNull(store.current(key), key + " committed");
    }
    assertNull(store.current("half"), "the failed command is undone as a whole");
    assertNull(store.current("bad"));
    assertEquals(1, store.hintCount(1), "the hint of the batch committed");

    assertEquals(List.of(
        new Change(null, store.current("a")),
        new Change(null, store.current("b")),
        new Change(null, store.current("c"))), committed.changes(),
        "the changes reported are the committed ones, in order, without the undone command's");
  }

  @Test
  void aBatchThatNeedsNoReplayReportsEveryChangeWithWhatItReplaced() throws Exception {
    transaction.run(List.of(new StorageCommand.Apply(List.of(write("k", "1")))));
    Record before = store.current("k");
    Record newer = Record.write("k", "2", Version.of(1_700_000_000_001L, 0, 0), 0);
    BatchTransaction.Committed committed = transaction.run(List.of(
        new StorageCommand.Apply(List.of(newer)),
        new StorageCommand.PutMeta("m", "v")));
    assertEquals(List.of(new CommandResult.Applied(ApplyResult.allApplied(1)), new CommandResult.Counted(1)), committed.results());
    assertEquals(List.of(new Change(before, store.current("k"))), committed.changes());
  }

  @Test
  void aSingleFailingCommandFailsItsBatchAndTheNextBatchCommits() throws Exception {
    SQLException e = assertThrows(SQLException.class,
        () -> transaction.run(List.of(new StorageCommand.Apply(List.of(write("bad", "{not json"))))));
    assertEquals(WriteRefused.Reason.STORAGE_ERROR, WriteRefused.of(e).reason());
    assertNull(store.current("bad"));

    BatchTransaction.Committed next = transaction.run(List.of(new StorageCommand.Apply(List.of(write("next", "1")))));
    assertEquals(List.of(new Change(null, store.current("next"))), next.changes(), "the store is usable after the rollback");
  }
}
