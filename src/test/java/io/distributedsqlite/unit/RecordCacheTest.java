package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordCache;
import io.distributedsqlite.storage.Version;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.Test;

class RecordCacheTest {
  private static Record rec(String key, long hlc) {
    return Record.write(key, "{\"v\":" + hlc + "}", new Version(hlc, 0), 0);
  }

  @Test
  void aFilledRecordIsServedAndAnUnknownKeyIsNot() {
    RecordCache cache = new RecordCache(1 << 20);
    assertNull(cache.lookup("a"));
    cache.fill("a", rec("a", 5), cache.stamp("a"));
    assertEquals(rec("a", 5), cache.lookup("a").record());
  }

  @Test
  void aKeyReadAsAbsentIsCachedAsAbsent() {
    RecordCache cache = new RecordCache(1 << 20);
    cache.fill("none", null, cache.stamp("none"));
    RecordCache.Entry e = cache.lookup("none");
    assertNotNull(e);
    assertNull(e.record());
  }

  @Test
  void aCommitUpdatesACachedKeyIncludingOneKnownAbsent() {
    RecordCache cache = new RecordCache(1 << 20);
    cache.fill("a", rec("a", 5), cache.stamp("a"));
    cache.fill("b", null, cache.stamp("b"));
    cache.changed(rec("a", 5), rec("a", 6));
    cache.changed(null, rec("b", 7));
    assertEquals(rec("a", 6), cache.lookup("a").record());
    assertEquals(rec("b", 7), cache.lookup("b").record());
  }

  @Test
  void aFillThatReadBeforeACommitOfTheSameKeyIsDropped() {
    RecordCache cache = new RecordCache(1 << 20);
    long stamp = cache.stamp("a");
    Record readBeforeCommit = rec("a", 5);
    cache.changed(readBeforeCommit, rec("a", 6)); // committed while the reader was in SQLite
    cache.fill("a", readBeforeCommit, stamp);
    assertNull(cache.lookup("a"), "the stale read must not be cached");
    cache.fill("a", rec("a", 6), cache.stamp("a"));
    assertEquals(rec("a", 6), cache.lookup("a").record());
  }

  @Test
  void aFillNeverReplacesANewerCachedVersion() {
    RecordCache cache = new RecordCache(1 << 20);
    cache.fill("a", rec("a", 9), cache.stamp("a"));
    cache.fill("a", rec("a", 3), cache.stamp("a"));
    assertEquals(rec("a", 9), cache.lookup("a").record());
  }

  @Test
  void aPurgedTombstoneLeavesTheCache() {
    RecordCache cache = new RecordCache(1 << 20);
    Record tomb = Record.tombstone("t", new Version(4, 1));
    cache.fill("t", tomb, cache.stamp("t"));
    assertSame(tomb, cache.lookup("t").record());
    cache.changed(tomb, null);
    assertNull(cache.lookup("t"));
  }

  @Test
  void aFullCacheEvictsDownBelowItsBoundAndRefusesFillsOfEvictedKeys() {
    RecordCache cache = new RecordCache(20_000);
    List<Long> stamps = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      stamps.add(cache.stamp("k" + i));
    }
    for (int i = 0; i < 1000; i++) {
      cache.fill("k" + i, rec("k" + i, i + 1), stamps.get(i));
      assertTrue(cache.bytes() <= 20_000, "bytes " + cache.bytes() + " after " + i);
    }
    assertTrue(cache.size() < 1000 && cache.size() > 40, "entries kept: " + cache.size());
  }

  @Test
  void hitsAreCountedOnLookupAndMissesOnlyWhereTheDatabaseIsRead() {
    RecordCache cache = new RecordCache(1 << 20);
    assertNull(cache.lookup("a"));
    assertNull(cache.lookup("a"));
    assertEquals(0, cache.misses(), "a failed lookup is not a miss until the key is read");
    cache.missed(1);
    cache.fill("a", rec("a", 1), cache.stamp("a"));
    cache.lookup("a");
    assertEquals(1, cache.hits());
    assertEquals(1, cache.misses());
  }

  @Test
  void aZeroSizedCacheIsOff() {
    RecordCache cache = new RecordCache(0);
    cache.fill("a", rec("a", 1), cache.stamp("a"));
    assertNull(cache.lookup("a"));
  }

  /**
   * A writer commits ever newer versions to a stand-in database (then tells the cache, as the
   * storage worker does) while readers read the database and fill the cache, and a small bound
   * keeps evictions going. Afterwards every cached entry must be exactly what the database holds.
   */
  @Test
  void underConcurrentCommitsFillsAndEvictionsTheCacheNeverHoldsAStaleVersion() throws Exception {
    int keys = 64;
    RecordCache cache = new RecordCache(4_000);
    AtomicReferenceArray<Record> db = new AtomicReferenceArray<>(keys);
    AtomicBoolean stop = new AtomicBoolean();
    Thread writer = new Thread(() -> {
      long hlc = 0;
      for (int n = 0; n < 200_000 && !stop.get(); n++) {
        int k = ThreadLocalRandom.current().nextInt(keys);
        Record next = rec("k" + k, ++hlc);
        Record previous = db.getAndSet(k, next);
        cache.changed(previous, next);
      }
    });
    List<Thread> readers = new ArrayList<>();
    for (int t = 0; t < 3; t++) {
      readers.add(new Thread(() -> {
        for (int n = 0; n < 300_000 && !stop.get(); n++) {
          int k = ThreadLocalRandom.current().nextInt(keys);
          long stamp = cache.stamp("k" + k);
          cache.fill("k" + k, db.get(k), stamp);
        }
      }));
    }
    writer.start();
    readers.forEach(Thread::start);
    writer.join(TimeUnit.SECONDS.toMillis(60));
    stop.set(true);
    for (Thread r : readers) {
      r.join(TimeUnit.SECONDS.toMillis(10));
    }
    int checked = 0;
    for (int k = 0; k < keys; k++) {
      RecordCache.Entry e = cache.lookup("k" + k);
      if (e != null) {
        assertEquals(db.get(k), e.record(), "cached k" + k);
        checked++;
      }
    }
    assertTrue(checked > 0, "nothing was cached");
  }
}
