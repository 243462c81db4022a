package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.Hint;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.Version;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hints are replayed oldest version first (ORDER BY hlc, node), per peer, in batches; delivered
 * hints are deleted by id. Exercised on a real SQLite file through the store and the read pool.
 */
@ExtendWith(VertxExtension.class)
class HintReplayOrderTest {
  @TempDir
  Path dir;
  private Vertx vertx;
  private SqliteStore store;
  private RecordReader reader;

  @BeforeEach
  void open(Vertx vertx) throws Exception {
    this.vertx = vertx;
    store = SqliteStore.open(dir, "NORMAL");
    reader = RecordReader.open(vertx, dir, 1, new io.distributedsqlite.storage.RecordCache(0));
  }

  @AfterEach
  void close() throws Exception {
    reader.close();
    store.close();
  }

  private void hint(int peer, String key, long millis, int counter, int node) throws Exception {
    assertTrue(store.storeHint(peer, Record.write(key, "{\"m\":" + millis + "}", Version.of(millis, counter, node), 0), 1000, 100));
  }

  @Test
  void hintsComeBackInVersionOrderWithTheNodeIdAsTieBreak(VertxTestContext ctx) throws Exception {
    // stored out of order, with equal clock stamps from different writers
    hint(1, "c", 3000, 0, 2);
    hint(1, "a", 1000, 0, 1);
    hint(1, "d", 3000, 0, 0);
    hint(1, "b", 2000, 5, 1);
    hint(1, "e", 2000, 1, 2);
    hint(2, "other-peer", 500, 0, 0);
    store.storeHint(1, Record.tombstone("t", Version.of(2500, 0, 0)), 1000, 100);
    store.commit();

    reader.hints(1, 100).compose(hints -> {
      ctx.verify(() -> {
        List<String> order = new ArrayList<>();
        for (Hint h : hints) {
          order.add(h.record().key());
          assertEquals(1, h.peer());
        }
        assertEquals(List.of("a", "e", "b", "t", "d", "c"), order);
        assertTrue(hints.get(3).record().tombstone(), "tombstones are hinted too");
        for (int i = 1; i < hints.size(); i++) {
          assertTrue(hints.get(i).record().version().isNewerThan(hints.get(i - 1).record().version()));
        }
      });
      return reader.hintCounts();
    }).onComplete(ctx.succeeding(counts -> ctx.verify(() -> {
      assertEquals(java.util.Map.of(1, 6L, 2, 1L), counts);
      ctx.completeNow();
    })));
  }

  @Test
  void batchesTakeTheOldestFirstAndDeliveredHintsAreDeleted(VertxTestContext ctx) throws Exception {
    for (int i = 9; i >= 0; i--) {
      hint(1, "k" + i, 1000 + i, 0, 0);
    }
    store.commit();

    reader.hints(1, 4).compose(first -> {
      ctx.verify(() -> assertEquals(List.of("k0", "k1", "k2", "k3"), first.stream().map(h -> h.record().key()).toList()));
      // The store is the storage worker's blocking connection: deliveries are deleted off the event loop.
      return vertx.executeBlocking(() -> {
        store.deleteHints(1, first.stream().map(Hint::id).toList());
        store.commit();
        return null;
      });
    }).compose(deleted -> reader.hints(1, 100)).compose(rest -> {
      ctx.verify(() -> assertEquals(List.of("k4", "k5", "k6", "k7", "k8", "k9"), rest.stream().map(h -> h.record().key()).toList()));
      return reader.hintCounts();
    }).onComplete(ctx.succeeding(counts -> ctx.verify(() -> {
      assertEquals(6L, counts.get(1));
      ctx.completeNow();
    })));
  }

  @Test
  void hintsBeyondTheLimitPerPeerAreNotKept(VertxTestContext ctx) throws Exception {
    for (int i = 0; i < 5; i++) {
      boolean kept = store.storeHint(3, Record.write("k" + i, "1", Version.of(1000 + i, 0, 0), 0), 1000, 3);
      assertEquals(i < 3, kept, "hint " + i);
    }
    store.commit();
    reader.hints(3, 100).onComplete(ctx.succeeding(hints -> ctx.verify(() -> {
      assertEquals(3, hints.size());
      ctx.completeNow();
    })));
  }
}
