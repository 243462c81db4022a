package io.distributedsqlite.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.wire.RecordJson;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reads behind peer exchanges stay within a byte bound on a real SQLite file: hints are
 * sized before their values are loaded, record reads stop at the bound and name the keys they
 * left out, and bucket listings come in pages in (bucket, key) order that together list every
 * record exactly once. Assertions inside the future chains fail the chain, and with it the test.
 */
@ExtendWith(VertxExtension.class)
class BoundedReadsTest {
  private static final int BIG = 200 * 1024;

  @TempDir
  Path dir;
  private Vertx vertx;
  private SqliteStore store;
  private RecordReader reader;

  @BeforeEach
  void open(Vertx vertx) throws Exception {
    this.vertx = vertx;
    store = SqliteStore.open(dir, "NORMAL");
    reader = RecordReader.open(vertx, dir, 1, new RecordCache(1 << 20));
  }

  @AfterEach
  void close() throws Exception {
    reader.close();
    store.close();
  }

  private static String big(int i) {
    return "\"" + Character.toString('a' + i % 26).repeat(BIG) + "\"";
  }

  @Test
  void hintBatchesOfLargeValuesStayWithinTheByteBudgetAndALargerOneComesAlone(VertxTestContext ctx) throws Exception {
    for (int i = 0; i < 20; i++) {
      store.storeHint(1, Record.write("h" + i, big(i), Version.of(1000 + i, 0, 0), 0), 1000, 100);
    }
    store.storeHint(2, Record.write("huge", "\"" + "x".repeat(PeerLimits.BATCH_BYTES + 10) + "\"", Version.of(999, 0, 0), 0), 1000, 100);
    store.storeHint(2, Record.write("small", "1", Version.of(1000, 0, 0), 0), 1000, 100);
    store.commit();

    reader.hints(1, 256, PeerLimits.BATCH_BYTES).compose(first -> {
      assertEquals(PeerLimits.BATCH_BYTES / (BIG + 2 + 2 + RecordReader.RECORD_BYTES), first.size(), "200 KiB hints per 1 MiB batch");
      assertEquals("h0", first.get(0).record().key());
      long bytes = first.stream().mapToLong(h -> RecordJson.wireBytes(h.record())).sum();
      assertTrue(bytes <= PeerLimits.BATCH_BYTES, bytes + " bytes");
      return reader.hints(1, 3, PeerLimits.BATCH_BYTES);
    }).compose(three -> {
      assertEquals(3, three.size(), "the count bound still holds");
      return reader.hints(2, 256, PeerLimits.BATCH_BYTES);
    }).map(alone -> {
      assertEquals(List.of("huge"), alone.stream().map(h -> h.record().key()).toList(), "a hint over the budget travels alone");
      return alone;
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void recordReadsStopAtTheByteBoundAndNameTheKeysLeftOut(VertxTestContext ctx) throws Exception {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      store.apply(Record.write("r" + i, big(i), Version.of(1000 + i, 0, 0), 0));
      keys.add("r" + i);
    }
    keys.add("absent");
    store.commit();
    Set<String> seen = new HashSet<>();
    reader.get("r3") // one of them from the cache
        .compose(cached -> askUntilServed(keys, seen, 0))
        .compose(requests -> {
          assertEquals(12, seen.size());
          int perAnswer = (int) (PeerLimits.BATCH_BYTES / RecordJson.wireBytes(Record.write("r10", big(0), Version.of(1, 0, 0), 0)));
          assertEquals((12 + perAnswer - 1) / perAnswer, requests, "12 records of 200 KiB in answers of 1 MiB");
          // The store is the storage worker's blocking connection: written off the event loop.
          return vertx.executeBlocking(() -> {
            store.apply(Record.write("huge", "\"" + "x".repeat(PeerLimits.BATCH_BYTES + 10) + "\"", Version.of(5000, 0, 0), 0));
            store.commit();
            return null;
          });
        })
        // r1 may come from the cache, ahead of huge: either way the two never share an answer.
        .compose(written -> reader.records(List.of("huge", "r1"), PeerLimits.BATCH_BYTES, RecordJson::wireBytes, true))
        .compose(one -> {
          assertEquals(1, one.records().size(), "a record over the budget is answered alone");
          assertEquals(1, one.unserved().size());
          return reader.records(one.unserved(), PeerLimits.BATCH_BYTES, RecordJson::wireBytes, true).map(other -> {
            assertEquals(one.unserved(), other.records().stream().map(Record::key).toList());
            assertEquals(List.of(), other.unserved());
            return other;
          });
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  /** Asks for {@code ask} until every key was served, as a peer does; answers the number of requests. */
  private Future<Integer> askUntilServed(List<String> ask, Set<String> seen, int requests) {
    if (ask.isEmpty()) {
      return Future.succeededFuture(requests);
    }
    return reader.records(ask, PeerLimits.BATCH_BYTES, RecordJson::wireBytes, true).compose(served -> {
      long bytes = served.records().stream().mapToLong(RecordJson::wireBytes).sum();
      assertTrue(bytes <= PeerLimits.BATCH_BYTES, "answer of " + bytes + " bytes");
      assertTrue(!served.records().isEmpty() || served.unserved().isEmpty(), "every answer makes progress");
      for (Record r : served.records()) {
        assertTrue(seen.add(r.key()), "served twice: " + r.key());
      }
      return askUntilServed(served.unserved(), seen, requests + 1);
    });
  }

  @Test
  void bucketListingPagesWalkEveryRecordOnceInBucketAndKeyOrder(VertxTestContext ctx) throws Exception {
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
    listFrom(buckets, null, listed, 0).map(pages -> {
      assertEquals(expected.size(), listed.size());
      assertEquals(expected, new HashSet<>(listed));
      assertEquals(expected.size() / 100 + 1, pages);
      return pages;
    }).onComplete(ctx.succeedingThenComplete());
  }

  /** Lists pages from {@code after} to the end, as anti-entropy does; answers the number of pages. */
  private Future<Integer> listFrom(List<Integer> buckets, BucketPosition after, List<String> listed, int pages) {
    return reader.bucketVersions(buckets, after, 100).compose(page -> {
      for (Record r : page.records()) {
        BucketPosition p = BucketPosition.of(r.key());
        BucketPosition last = listed.isEmpty() ? null : BucketPosition.of(listed.get(listed.size() - 1));
        assertTrue(last == null || last.compareTo(p) < 0, last + " before " + p);
        assertNull(r.value(), "listings carry no values");
        listed.add(r.key());
      }
      return page.next() == null ? Future.succeededFuture(pages + 1) : listFrom(buckets, page.next(), listed, pages + 1);
    });
  }
}
