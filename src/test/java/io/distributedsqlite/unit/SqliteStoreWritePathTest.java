package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.Version;
import java.nio.file.Path;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The write path of {@link SqliteStore} as the storage worker drives it: several records per
 * transaction, what {@code apply} hands the change listener, and a failed command undone alone.
 */
class SqliteStoreWritePathTest {
  private static final Version V1 = Version.of(1_700_000_000_000L, 0, 1);
  private static final Version V2 = Version.of(1_700_000_000_000L, 1, 0);
  private static final Version V3 = Version.of(1_700_000_000_001L, 0, 0);

  @TempDir Path dir;
  private SqliteStore store;

  @BeforeEach
  void open() throws Exception {
    store = SqliteStore.open(dir, "FULL");
  }

  @AfterEach
  void close() throws Exception {
    if (store != null) {
      store.close();
    }
  }

  @Test
  void tombstonesArePurgedOldestFirstInBatchesAndOnlyBeforeTheHorizon() throws Exception {
    long base = 1_700_000_000_000L;
    for (int i = 0; i < 5; i++) {
      store.apply(Record.tombstone("gone-" + i, Version.of(base + i, 0, 0)));
    }
    store.apply(Record.tombstone("recent", Version.of(base + 100, 0, 0)));
    store.apply(Record.write("live", "1", Version.of(base, 0, 0), 0));
    store.commit();
    long horizon = Version.of(base + 50, 0, 0).hlc();

    var first = store.purgeTombstonesBefore(horizon, 2);
    store.commit();
    assertEquals(java.util.List.of("gone-0", "gone-1"), first.stream().map(Record::key).toList());
    assertEquals(Version.of(base + 1, 0, 0).hlc(), store.purgedUpTo());
    assertEquals(3, store.purgeTombstonesBefore(horizon, 4).size(), "the rest, in one batch that comes back short");
    store.commit();
    assertEquals(0, store.purgeTombstonesBefore(horizon, 4).size());
    store.commit();
    assertEquals(Version.of(base + 4, 0, 0).hlc(), store.purgedUpTo());
    assertTrue(store.current("recent").tombstone(), "a tombstone inside the grace stays");
    assertEquals("1", store.current("live").value(), "live records are never purged");
    for (int i = 0; i < 5; i++) {
      assertNull(store.current("gone-" + i));
    }
  }

  @Test
  void sameKeyTwiceInOneBatchKeepsTheNewer() throws Exception {
    assertNull(store.apply(Record.write("k", "\"a\"", V1, 0)));
    Record replaced = store.apply(Record.write("k", "\"b\"", V3, 0));
    Record stale = Record.write("k", "\"c\"", V2, 0);
    assertSame(stale, store.apply(stale), "an older record later in the same batch changes nothing");
    store.commit();
    assertEquals("\"a\"", replaced.value());
    assertEquals(V1, replaced.version());
    Record now = store.current("k");
    assertEquals("\"b\"", now.value());
    assertEquals(V3, now.version());
  }

  @Test
  void replacedRecordCarriesEveryStoredField() throws Exception {
    store.apply(Record.write("k", "{ \"x\" : [1, 2] }", V1, 5_000));
    store.commit();
    Record replaced = store.apply(Record.tombstone("k", V2));
    store.commit();
    assertEquals(new Record("k", "{\"x\":[1,2]}", V1, false, 5_000), replaced,
        "the listener sees the previous value as stored, its version, tombstone flag and expiry");
    assertEquals(new Record("k", null, V2, true, 0), store.current("k"));
  }

  @Test
  void tombstoneForAnUnknownKeyIsKept() throws Exception {
    assertNull(store.apply(Record.tombstone("gone", V2)), "nothing was replaced");
    store.commit();
    assertEquals(new Record("gone", null, V2, true, 0), store.current("gone"));
    Record older = Record.write("gone", "1", V1, 0);
    assertSame(older, store.apply(older), "a delete seen first still beats an older write arriving later");
    store.commit();
    assertTrue(store.current("gone").tombstone());
  }

  @Test
  void updatedValueIsCompactedLikeAnInsertedOne() throws Exception {
    store.apply(Record.write("k", "1", V1, 0));
    store.apply(Record.write("k", "{ \"b\" : [1, 2.50, \"\\u00e9\"], \"a\" : null }", V2, 7));
    store.commit();
    Record now = store.current("k");
    assertEquals("{\"b\":[1,2.50,\"\\u00e9\"],\"a\":null}", now.value());
    assertEquals(7, now.expiresAt());
  }

  @Test
  void failedCommandIsUndoneAloneAndTheStoreKeepsWorking() throws Exception {
    store.savepoint();
    store.apply(Record.write("good", "1", V1, 0));
    store.releaseSavepoint(true);
    store.savepoint();
    assertThrows(SQLException.class, () -> store.apply(Record.write("bad", "{not json", V1, 0)));
    store.recover();
    store.releaseSavepoint(false);
    store.savepoint();
    assertNull(store.apply(Record.write("after", "2", V2, 0)));
    store.releaseSavepoint(true);
    store.commit();
    assertEquals("1", store.current("good").value());
    assertNull(store.current("bad"));
    assertEquals("2", store.current("after").value());
  }

  @Test
  void rollbackThenRecoverLeavesAWorkingStore() throws Exception {
    store.apply(Record.write("lost", "1", V1, 0));
    assertThrows(SQLException.class, () -> store.apply(Record.write("bad", "[", V1, 0)));
    store.rollback();
    store.recover();
    store.apply(Record.write("kept", "2", V2, 0));
    store.commit();
    assertNull(store.current("lost"), "the rolled-back batch left nothing behind");
    assertEquals("2", store.current("kept").value());
  }

  @Test
  void clockMarkOnlyMovesForward() throws Exception {
    store.saveHighWater(V3.hlc());
    store.commit();
    store.saveHighWater(V1.hlc());
    store.commit();
    store.close();
    store = SqliteStore.open(dir, "FULL");
    assertEquals(V3.hlc(), store.highWater());
  }

  @Test
  void inTouchTimeIsWhatWasLastRecordedAndAFutureStampedCommitCannotMoveIt() throws Exception {
    assertNull(store.inTouch(), "a new database was never in touch");
    assertFalse(store.rebuilt(), "a new database has not been rebuilt");
    store.putMeta(SqliteStore.META_IN_TOUCH, "2000");
    store.commit();
    store.putMeta(SqliteStore.META_IN_TOUCH, "1500"); // the wall clock stepped back: the last write wins, no max()
    store.commit();
    // a record stamped far ahead of every clock, and the high-water mark it drags along
    Version future = Version.of(System.currentTimeMillis() + 3_600_000L, 0, 2);
    store.apply(Record.write("k", "1", future, 0));
    store.saveHighWater(future.hlc());
    store.commit();
    store.close();
    store = SqliteStore.open(dir, "FULL");
    assertEquals("1500", store.inTouch());
    assertEquals(future.hlc(), store.highWater());
    assertNull(store.staleReason());
  }

  @Test
  void staleAndRebuiltMarksSurviveARestart() throws Exception {
    store.putMeta(SqliteStore.META_REBUILT, "1");
    store.putMeta(SqliteStore.META_STALE, "cut off");
    store.commit();
    store.close();
    store = SqliteStore.open(dir, "FULL");
    assertTrue(store.rebuilt());
    assertEquals("cut off", store.staleReason());
  }

  @Test
  void hintsOfARolledBackTransactionDoNotCountAgainstThePeersBound() throws Exception {
    Record r = Record.write("h", "1", V1, 0);
    assertTrue(store.storeHint(1, r, 0, 1));
    store.rollback(); // the storage worker runs a failed batch again after this
    assertTrue(store.storeHint(1, r, 0, 1), "the rolled-back hint was never stored, so the bound has room");
    store.commit();
    assertEquals(false, store.storeHint(1, r, 0, 1), "one committed hint fills a bound of one");
    store.commit();
  }

  @Test
  void hintsDeletedInARolledBackTransactionStillCount() throws Exception {
    Record r = Record.write("h", "1", V1, 0);
    assertTrue(store.storeHint(2, r, 0, 1));
    store.commit();
    store.dropHintsOlderThan(2, Long.MAX_VALUE);
    store.rollback();
    assertEquals(false, store.storeHint(2, r, 0, 1), "the hint is still there after the drop was rolled back");
    store.commit();
  }

  @Test
  void aFailedCommitLeavesNoTransactionOpen() throws Exception {
    store.close();
    store = null;
    try (java.sql.Connection conn = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve(SqliteStore.FILE_NAME));
        java.sql.Statement st = conn.createStatement()) {
      st.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
      st.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
      st.execute("CREATE TRIGGER poison AFTER INSERT ON kv WHEN NEW.key = 'poison' BEGIN INSERT INTO child VALUES (1); END");
    }
    store = SqliteStore.open(dir, "FULL");
    store.apply(Record.write("poison", "1", V1, 0));
    assertThrows(SQLException.class, store::commit, "a deferred foreign-key violation fails at COMMIT");
    store.rollback();
    store.recover();
    assertNull(store.apply(Record.write("fine", "2", V1, 0)), "a new transaction begins");
    store.commit();
    assertEquals("2", store.current("fine").value());
    assertNull(store.current("poison"), "the failed transaction was rolled back");
  }

  @Test
  void aStrayIsRemovedOnlyWhileItStillHoldsTheListedVersion() throws Exception {
    Record old = Record.write("stray", "1", V1, 0);
    store.apply(old);
    store.commit();
    store.apply(Record.write("stray", "2", V3, 0)); // a newer legacy write arrived after the scan
    store.commit();
    assertEquals(false, store.deleteIfVersion(old), "the newer write is kept");
    store.commit();
    assertEquals("2", store.current("stray").value());
    assertTrue(store.deleteIfVersion(Record.write("stray", null, V3, 0)));
    store.commit();
    assertNull(store.current("stray"));
  }

  @Test
  void storedFormIsWhatSqliteStores() throws Exception {
    Record spaced = Record.write("s", "{ \"a\" :\n [1, 2.50] }", V1, 0);
    Record stored = store.storedForm(spaced);
    store.apply(spaced);
    store.commit();
    assertEquals("{\"a\":[1,2.50]}", stored.value());
    assertEquals(store.current("s").value(), stored.value());
    Record compact = Record.write("c", "{\"a\":\"x\"}", V1, 0);
    assertSame(compact, store.storedForm(compact), "a value without whitespace is stored as sent");
  }
}
