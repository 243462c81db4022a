package io.distributedsqlite.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.Version;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A held link sends what was queued during the hold as one request, beyond the usual batch size. */
class ReplicaLinkHoldTest {
  private final List<List<Record>> requests = new ArrayList<>();
  private final List<Promise<ApplyResult>> replies = new ArrayList<>();
  private final ReplicaLink link = new ReplicaLink(records -> {
    requests.add(records);
    Promise<ApplyResult> p = Promise.promise();
    replies.add(p);
    return p.future();
  }, 100_000, () -> new IllegalStateException("full"));

  private static Record record(int i) {
    return Record.write("k" + i, "\"v\"", Version.of(1000 + i, 0, 0), 0);
  }

  @Test
  void recordsSentWhileHeldLeaveTogetherInOneRequest() {
    link.hold();
    List<Future<ApplyResult.Outcome>> sent = new ArrayList<>();
    for (int i = 0; i < 700; i++) {
      sent.add(link.send(record(i)));
    }
    assertEquals(0, requests.size(), "nothing leaves while held");
    link.release();
    assertEquals(1, requests.size(), "one request for the whole held batch");
    assertEquals(700, requests.get(0).size());
    replies.get(0).complete(ApplyResult.allApplied(requests.get(0).size()));
    assertTrue(sent.stream().allMatch(Future::succeeded), "every record's future completes with its request");
  }

  @Test
  void withoutAHoldSingleSendsGoAtOnceAndLaterOnesCoalesce() {
    for (int i = 0; i < 300; i++) {
      link.send(record(i));
    }
    // Two go alone (MAX_IN_FLIGHT), the rest wait and leave in batches of MAX_BATCH.
    assertEquals(2, requests.size());
    replies.get(0).complete(ApplyResult.allApplied(requests.get(0).size()));
    assertEquals(3, requests.size());
    assertEquals(ReplicaLink.MAX_BATCH, requests.get(2).size());
  }

  @Test
  void aHeldBatchStillRespectsTheByteBound() {
    String big = "\"" + "x".repeat(1 << 20) + "\"";
    link.hold();
    for (int i = 0; i < 10; i++) {
      link.send(Record.write("big" + i, big, Version.of(1000 + i, 0, 0), 0));
    }
    link.release();
    assertEquals(2, requests.size(), "two requests in flight, each under MAX_BATCH_WEIGHT");
    assertTrue(requests.get(0).size() < 10);
    for (List<Record> r : requests) {
      assertTrue(r.stream().mapToInt(Record::weight).sum() <= ReplicaLink.MAX_BATCH_WEIGHT);
    }
  }
}
