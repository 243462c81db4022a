package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.Version;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The merge rule (newest version wins, equal is a no-op) against a real SQLite file. */
class MergeRuleTest {
  private static final Version V1 = Version.of(1_700_000_000_000L, 0, 1);
  private static final Version V2 = Version.of(1_700_000_000_000L, 1, 0);
  private static final Version V3 = Version.of(1_700_000_000_001L, 0, 0);

  @TempDir Path dir;
  private SqliteStore store;

  @BeforeEach
  void open() throws Exception {
    store = SqliteStore.open(dir, "NORMAL");
  }

  @AfterEach
  void close() throws Exception {
    if (store != null) {
      store.close();
    }
  }

  private Record apply(Record r) throws Exception {
    Record out = store.apply(r);
    store.commit();
    return out;
  }

  @Test
  void newerWriteReplacesOlder() throws Exception {
    assertNull(apply(Record.write("k", "\"old\"", V1, 0)), "a new key has no previous record");
    Record previous = apply(Record.write("k", "\"new\"", V2, 0));
    assertEquals("\"old\"", previous.value());
    Record now = store.current("k");
    assertEquals("\"new\"", now.value());
    assertEquals(V2, now.version());
  }

  @Test
  void olderWriteNeverOverwritesNewer() throws Exception {
    apply(Record.write("k", "\"new\"", V3, 0));
    Record stale = Record.write("k", "\"old\"", V1, 0);
    assertSame(stale, apply(stale), "apply returns the incoming record itself when nothing changed");
    Record now = store.current("k");
    assertEquals("\"new\"", now.value());
    assertEquals(V3, now.version());
  }

  @Test
  void equalVersionIsANoOp() throws Exception {
    apply(Record.write("k", "1", V2, 0));
    Record same = Record.write("k", "2", V2, 0);
    assertSame(same, apply(same));
    assertEquals("1", store.current("k").value());
    Record identical = Record.write("k", "1", V2, 0);
    assertSame(identical, apply(identical), "re-applying the same record (a retry) changes nothing");
  }

  @Test
  void tombstoneAtEqualVersionDoesNotReplaceTheWrite() throws Exception {
    apply(Record.write("k", "1", V2, 0));
    apply(Record.tombstone("k", V2));
    Record now = store.current("k");
    assertFalse(now.tombstone());
    assertEquals("1", now.value());
  }

  @Test
  void writeAtEqualVersionDoesNotReplaceTheTombstone() throws Exception {
    apply(Record.tombstone("k", V2));
    apply(Record.write("k", "1", V2, 0));
    Record now = store.current("k");
    assertTrue(now.tombstone());
    assertNull(now.value());
  }

  @Test
  void newerTombstoneWinsOverWrite() throws Exception {
    apply(Record.write("k", "{\"a\":1}", V1, 0));
    apply(Record.tombstone("k", V2));
    Record now = store.current("k");
    assertTrue(now.tombstone());
    assertNull(now.value());
    assertEquals(V2, now.version());
    assertTrue(now.isAbsentAt(System.currentTimeMillis()));
  }

  @Test
  void olderWriteDoesNotResurrectADeletedKey() throws Exception {
    apply(Record.tombstone("k", V3));
    apply(Record.write("k", "1", V2, 0));
    assertTrue(store.current("k").tombstone());
  }

  @Test
  void newerWriteRevivesATombstone() throws Exception {
    apply(Record.tombstone("k", V1));
    apply(Record.write("k", "\"back\"", V3, 0));
    Record now = store.current("k");
    assertFalse(now.tombstone());
    assertEquals("\"back\"", now.value());
    assertEquals(V3, now.version());
  }

  @Test
  void olderTombstoneDoesNotDeleteANewerWrite() throws Exception {
    apply(Record.write("k", "1", V3, 0));
    apply(Record.tombstone("k", V1));
    assertFalse(store.current("k").tombstone());
  }

  @Test
  void mergeIsCommutative(@TempDir Path other) throws Exception {
    List<Record> records = List.of(
        Record.write("k", "1", V1, 0), Record.tombstone("k", V2), Record.write("k", "3", V3, 0),
        Record.write("j", "1", V3, 0), Record.tombstone("j", V1));
    for (Record r : records) {
      apply(r);
    }
    try (SqliteStore reversed = SqliteStore.open(other, "NORMAL")) {
      for (int i = records.size() - 1; i >= 0; i--) {
        reversed.apply(records.get(i));
      }
      reversed.commit();
      for (String key : List.of("k", "j")) {
        assertEquals(store.current(key), reversed.current(key), "same final record for " + key + " in either order");
      }
    }
  }

  @Test
  void valuesAreStoredAsCompactJson() throws Exception {
    apply(Record.write("k", "{ \"b\" : [1, 2.50, \"x\"], \"a\" : null }", V1, 0));
    assertEquals("{\"b\":[1,2.50,\"x\"],\"a\":null}", store.current("k").value());
  }

  @Test
  void expiredRecordReadsAsAbsent() throws Exception {
    apply(Record.write("k", "1", V1, 1_000));
    Record now = store.current("k");
    assertEquals(1_000, now.expiresAt());
    assertFalse(now.isAbsentAt(999));
    assertTrue(now.isAbsentAt(1_000));
  }

  @Test
  void highWaterSurvivesReopen() throws Exception {
    apply(Record.write("k", "1", V2, 0));
    long saved = Version.of(1_800_000_000_000L, 3, 0).hlc();
    store.saveHighWater(saved);
    store.commit();
    store.saveHighWater(V1.hlc()); // a lower mark never lowers the stored one
    store.commit();
    store.close();
    store = SqliteStore.open(dir, "NORMAL");
    assertEquals(saved, store.highWater());
    assertEquals(V2, store.current("k").version(), "records survive reopen too");
  }

  @Test
  void highWaterCoversStoredVersionsWithoutASavedMark() throws Exception {
    apply(Record.write("a", "1", V3, 0));
    apply(Record.tombstone("b", V2));
    store.close();
    store = SqliteStore.open(dir, "NORMAL");
    assertEquals(V3.hlc(), store.highWater());
  }
}
