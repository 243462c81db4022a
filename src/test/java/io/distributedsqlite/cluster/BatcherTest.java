package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The coalescing queue in front of a replica. The replica here is a list of open requests the
 * test answers by hand (the synchronous tests), or one that answers after a timer on the event
 * loop (the asynchronous one).
 */
@ExtendWith(VertxExtension.class)
class BatcherTest {
  /** Requests the batcher made, and the promise answering each. */
  private final List<List<String>> requests = new ArrayList<>();
  private final List<Promise<List<String>>> replies = new ArrayList<>();

  private Future<List<String>> replica(List<String> items) {
    requests.add(items);
    Promise<List<String>> p = Promise.promise();
    replies.add(p);
    return p.future();
  }

  /** The replica's answer to request {@code i}: each item, upper-cased. */
  private void answer(int i) {
    replies.get(i).complete(requests.get(i).stream().map(String::toUpperCase).toList());
  }

  private Batcher<String, String> batcher(Batcher.Limits<String> limits) {
    return new Batcher<>(this::replica, limits);
  }

  @Test
  void anIdleReplicaIsAskedAtOnceAndLaterItemsWaitForTheNextBatch() {
    Batcher<String, String> b = batcher(Batcher.Limits.of(1, 100));
    Future<String> first = b.send("a");
    assertEquals(List.of(List.of("a")), requests, "the first item leaves alone, at once");
    Future<String> second = b.send("b");
    Future<String> third = b.send("c");
    assertEquals(1, requests.size(), "nothing more leaves while the one allowed batch is out");
    answer(0);
    assertEquals("A", first.result());
    assertEquals(List.of("b", "c"), requests.get(1), "the waiting items leave together");
    answer(1);
    assertEquals("B", second.result());
    assertEquals("C", third.result());
  }

  @Test
  void callersOfTheSameWaitingKeyShareOnePlaceInTheBatch() {
    Batcher<String, String> b = batcher(Batcher.Limits.<String>of(1, 100).coalescingEqualItems());
    b.send("a");
    Future<String> k1 = b.send("k");
    Future<String> other = b.send("x");
    Future<String> k2 = b.send("k");
    answer(0);
    assertEquals(List.of("k", "x"), requests.get(1), "k once, for both callers");
    // k is in flight now: a new caller waits for the next batch rather than joining it.
    Future<String> k3 = b.send("k");
    answer(1);
    assertEquals("K", k1.result());
    assertEquals("K", k2.result());
    assertEquals("X", other.result());
    assertFalse(k3.isComplete());
    assertEquals(List.of("k"), requests.get(2));
    answer(2);
    assertEquals("K", k3.result());
  }

  @Test
  void withoutCoalescingEqualItemsTravelSeparately() {
    Batcher<String, String> b = batcher(Batcher.Limits.of(1, 100));
    b.send("a");
    b.send("k");
    b.send("k");
    answer(0);
    assertEquals(List.of("k", "k"), requests.get(1));
  }

  @Test
  void neverMoreBatchesOutThanTheInFlightLimit() {
    Batcher<String, String> b = batcher(Batcher.Limits.of(2, 100));
    for (int i = 0; i < 5; i++) {
      b.send("i" + i);
    }
    assertEquals(2, requests.size(), "two go alone, the rest wait");
    answer(1);
    assertEquals(3, requests.size(), "a returned batch lets the next one leave");
    assertEquals(List.of("i2", "i3", "i4"), requests.get(2));
    answer(0);
    assertEquals(3, requests.size(), "nothing left to send");
  }

  @Test
  void aBatchStaysWithinItsCountAndWeightBoundsAndAHeavyItemLeavesAlone() {
    Batcher<String, String> b = batcher(Batcher.Limits.<String>of(1, 3).weighing(String::length, 10));
    b.send("first");
    for (int i = 0; i < 5; i++) {
      b.send("i" + i);
    }
    answer(0);
    assertEquals(List.of("i0", "i1", "i2"), requests.get(1), "at most three items");
    answer(1);
    assertEquals(List.of("i3", "i4"), requests.get(2));
    answer(2);
    b.send("aaaa"); // leaves at once
    b.send("bbbb");
    b.send("cccccc");
    b.send("dddddddddddddddd");
    b.send("e");
    answer(3);
    assertEquals(List.of("bbbb", "cccccc"), requests.get(4), "10 of weight at most");
    answer(4);
    assertEquals(List.of("dddddddddddddddd"), requests.get(5), "heavier than the bound: alone");
    answer(5);
    assertEquals(List.of("e"), requests.get(6));
  }

  @Test
  void aFullQueueRefusesAtOnceAndAcceptsAgainOnceItDrained() {
    IllegalStateException full = new IllegalStateException("full");
    Batcher<String, String> b = batcher(Batcher.Limits.<String>of(1, 100).queueAtMost(2, () -> full));
    b.send("out");
    b.send("w1");
    b.send("w2");
    Future<String> refused = b.send("w3");
    assertTrue(refused.failed(), "a third waiting item is refused");
    assertSame(full, refused.cause());
    assertEquals(1, requests.size(), "a refused item is not queued");
    answer(0);
    assertEquals(List.of("w1", "w2"), requests.get(1));
    assertFalse(b.send("w4").failed(), "the queue drained into the batch: room again");
  }

  @Test
  void heldItemsLeaveTogetherBeyondTheCountBoundButWithinTheWeightBound() {
    Batcher<String, String> b = batcher(Batcher.Limits.<String>of(2, 2).weighing(String::length, 12));
    b.hold();
    List<Future<String>> sent = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      sent.add(b.send("k" + i));
    }
    assertTrue(requests.isEmpty(), "nothing leaves while held");
    b.release();
    assertEquals(List.of(List.of("k0", "k1", "k2", "k3", "k4")), requests, "one batch of five, though a batch is two");
    answer(0);
    assertTrue(sent.stream().allMatch(f -> f.succeeded()));

    b.hold();
    for (int i = 0; i < 8; i++) {
      b.send("w" + i + "xx");
    }
    b.release();
    assertEquals(List.of("w0xx", "w1xx", "w2xx"), requests.get(1), "twelve of weight at most, held or not");
    assertEquals(List.of("w3xx", "w4xx"), requests.get(2), "only the first batch after a release goes beyond the count bound");
    answer(1);
    assertEquals(List.of("w5xx", "w6xx"), requests.get(3));
  }

  @Test
  void aFailedBatchFailsEveryCallerItCarried() {
    Batcher<String, String> b = batcher(Batcher.Limits.<String>of(1, 100).coalescingEqualItems());
    Future<String> first = b.send("a");
    Future<String> k1 = b.send("k");
    Future<String> k2 = b.send("k");
    replies.get(0).fail("connection refused");
    assertEquals("connection refused", first.cause().getMessage());
    replies.get(1).fail("peer answered 500");
    assertEquals("peer answered 500", k1.cause().getMessage());
    assertEquals("peer answered 500", k2.cause().getMessage());
  }

  @Test
  void anAnswerForFewerItemsThanSentFailsTheBatch() {
    Batcher<String, String> b = batcher(Batcher.Limits.of(1, 100));
    b.send("out");
    Future<String> x = b.send("x");
    Future<String> y = b.send("y");
    answer(0);
    replies.get(1).complete(List.of("X"));
    assertTrue(x.failed());
    assertTrue(y.failed());
    assertEquals("the replica answered for 1 of 2 items", y.cause().getMessage());
  }

  @Test
  void failQueuedFailsTheWaitingCallersButNotTheBatchInFlight() {
    Batcher<String, String> b = batcher(Batcher.Limits.<String>of(1, 100).coalescingEqualItems());
    Future<String> out = b.send("out");
    Future<String> waiting = b.send("k");
    b.failQueued("peer 2 is down");
    assertEquals("peer 2 is down", waiting.cause().getMessage());
    assertFalse(out.isComplete());
    Future<String> again = b.send("k");
    answer(0);
    assertEquals("OUT", out.result());
    assertEquals(List.of("k"), requests.get(1), "a key sent after the failure starts a new place");
    answer(1);
    assertEquals("K", again.result());
  }

  @Test
  void onAnEventLoopManyCallersGetTheirOwnResultsWithinTheInFlightLimit(Vertx vertx, VertxTestContext ctx) {
    int callers = 500;
    AtomicInteger out = new AtomicInteger();
    AtomicInteger mostOut = new AtomicInteger();
    AtomicInteger batches = new AtomicInteger();
    vertx.runOnContext(v -> {
      Batcher<String, String> b = new Batcher<>(items -> {
        batches.incrementAndGet();
        mostOut.accumulateAndGet(out.incrementAndGet(), Math::max);
        Promise<List<String>> p = Promise.promise();
        vertx.setTimer(2, id -> {
          out.decrementAndGet();
          p.complete(items.stream().map(String::toUpperCase).toList());
        });
        return p.future();
      }, Batcher.Limits.<String>of(2, 64).coalescingEqualItems());
      List<Future<String>> results = new ArrayList<>();
      for (int i = 0; i < callers; i++) {
        results.add(b.send("key" + (i % 200)));
      }
      Future.all(results).onComplete(ctx.succeeding(all -> ctx.verify(() -> {
        for (int i = 0; i < callers; i++) {
          assertEquals("KEY" + (i % 200), results.get(i).result());
        }
        assertTrue(mostOut.get() <= 2, "at most two batches out at once, saw " + mostOut.get());
        assertTrue(batches.get() <= 2 + (200 + 63) / 64, "200 distinct keys in few batches, took " + batches.get());
        ctx.completeNow();
      })));
    });
  }
}
