package io.distributedsqlite.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.wire.RecordJson;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reads behind peer exchanges stay within a byte bound on a real SQLite file: hints are
 * sized before their values are loaded, record reads stop at the bound and name the keys they
 * left out, and bucket listings come in pages in (bucket, key) order that together list every
 * record exactly once.
 */
class BoundedReadsTest {
  private static final int BIG = 200 * 1024;

  @TempDir
  Path dir;
  private Vertx vertx;
  private SqliteStore store;
  private RecordReader reader;

  @BeforeEach
  void open() throws Exception {
    vertx = Vertx.vertx();
    store = SqliteStore.open(dir, "NORMAL");
    reader = RecordReader.open(vertx, dir, 1, new RecordCache(1 << 20));
  }

  @AfterEach
  void close() throws Exception {
    reader.close();
    store.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static String big(int i) {
    return "\"" + Character.toString('a' + i % 26).repeat(BIG) + "\"";
  }

  @Test
  void hintBatchesOfLargeValuesStayWithinTheByteBudgetAndALargerOneComesAlone() throws Exception {
    for (int i = 0; i < 20; i++) {
      store.storeHint(1, Record.write("h" + i, big(i), Version.of(1000 + i, 0, 0), 0), 1000, 100);
    }
    store.storeHint(2, Record.write("huge", "\"" + "x".repeat(PeerLimits.BATCH_BYTES + 10) + "\"", Version.of(999, 0, 0), 0), 1000, 100);
    store.storeHint(2, Record.write("small", "1", Version.of(1000, 0, 0), 0), 1000, 100);
    store.commit();

    List<Hint> first = reader.hints(1, 256, PeerLimits.BATCH_BYTES).await(10, TimeUnit.SECONDS);
    assertEquals(PeerLimits.BATCH_BYTES / (BIG + 2 + 2 + RecordReader.RECORD_BYTES), first.size(), "200 KiB hints per 1 MiB batch");
    assertEquals("h0", first.get(0).record().key());
    long bytes = first.stream().mapToLong(h -> RecordJson.wireBytes(h.record())).sum();
    assertTrue(bytes <= PeerLimits.BATCH_BYTES, bytes + " bytes");
    assertEquals(3, reader.hints(1, 3, PeerLimits.BATCH_BYTES).await(10, TimeUnit.SECONDS).size(), "the count bound still holds");

    List<Hint> alone = reader.hints(2, 256, PeerLimits.BATCH_BYTES).await(10, TimeUnit.SECONDS);
    assertEquals(List.of("huge"), alone.stream().map(h -> h.record().key()).toList(), "a hint over the budget travels alone");
  }

  @Test
  void recordReadsStopAtTheByteBoundAndNameTheKeysLeftOut() throws Exception {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      store.apply(Record.write("r" + i, big(i), Version.of(1000 + i, 0, 0), 0));
      keys.add("r" + i);
    }
    keys.add("absent");
    store.commit();
    reader.get("r3").await(10, TimeUnit.SECONDS); // one of them from the cache

    Set<String> seen = new HashSet<>();
    List<String> ask = keys;
    int requests = 0;
    while (!ask.isEmpty()) {
      RecordReader.Served served = reader.records(ask, PeerLimits.BATCH_BYTES, RecordJson::wireBytes, true).await(10, TimeUnit.SECONDS);
      long bytes = served.records().stream().mapToLong(RecordJson::wireBytes).sum();
      assertTrue(bytes <= PeerLimits.BATCH_BYTES, "answer of " + bytes + " bytes");
      assertTrue(!served.records().isEmpty() || served.unserved().isEmpty(), "every answer makes progress");
      for (Record r : served.records()) {
        assertTrue(seen.add(r.key()), "served twice: " + r.key());
      }
      ask = served.unserved();
      requests++;
    }
    assertEquals(12, seen.size());
    int perAnswer = (int) (PeerLimits.BATCH_BYTES / RecordJson.wireBytes(Record.write("r10", big(0), Version.of(1, 0, 0), 0)));
    assertEquals((12 + perAnswer - 1) / perAnswer, requests, "12 records of 200 KiB in answers of 1 MiB");

    store.apply(Record.write("huge", "\"" + "x".repeat(PeerLimits.BATCH_BYTES + 10) + "\"", Version.of(5000, 0, 0), 0));
    store.commit();
    // r1 may come from the cache, ahead of huge: either way the two never share an answer.
    RecordReader.Served one = reader.records(List.of("huge", "r1"), PeerLimits.BATCH_BYTES, RecordJson::wireBytes, true).await(10, TimeUnit.SECONDS);
    assertEquals(1, one.records().size(), "a record over the budget is answered alone");
    assertEquals(1, one.unserved().size());
    RecordReader.Served other = reader.records(one.unserved(), PeerLimits.BATCH_BYTES, RecordJson::wireBytes, true).await(10, TimeUnit.SECONDS);
    assertEquals(one.unserved(), other.records().stream().map(Record::key).toList());
    assertEquals(List.of(), other.unserved());
  }

  @Test
  void bucketListingPagesWalkEveryRecordOnceInBucketAndKeyOrder() throws Exception {
    List<Integer> buckets = new ArrayList<>();
    Set<String> expected = new HashSet<>();
    for (int i = 0; i < 3000; i++) {
      String key = (i % 3 == 0 ? "ü" : i % 3 == 1 ? "\uD83D\uDE00" : "k") + i;
      store.apply(Record.write(key, "1", Version.of(1000 + i, 0, 0), 0));
      int b = KeyHash.bucket(key);
      if (b % 4 == 0) {
        expected.add(key);
        if (!buckets.contains(b)) {
          buckets.add(b);
        }
      }
    }
    store.commit();

    List<String> listed = new ArrayList<>();
    BucketPosition after = null;
    BucketPosition last = null;
    int pages = 0;
    do {
      RecordReader.Listing page = reader.bucketVersions(buckets, after, 100).await(10, TimeUnit.SECONDS);
      for (Record r : page.records()) {
        BucketPosition p = BucketPosition.of(r.key());
        assertTrue(last == null || last.compareTo(p) < 0, last + " before " + p);
        assertNull(r.value(), "listings carry no values");
        last = p;
        listed.add(r.key());
      }
      after = page.next();
      pages++;
    } while (after != null);
    assertEquals(expected.size(), listed.size());
    assertEquals(expected, new HashSet<>(listed));
    assertEquals(expected.size() / 100 + 1, pages);
  }
}
