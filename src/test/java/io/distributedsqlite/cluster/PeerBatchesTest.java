package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.wire.RecordJson;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.Version;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Cutting peer traffic into byte- and count-bounded requests, and getting past records a peer refuses. */
class PeerBatchesTest {
  private static Record record(String key, int valueBytes) {
    return Record.write(key, "\"" + "v".repeat(Math.max(0, valueBytes - 2)) + "\"", Version.of(1000, 0, 0), 0);
  }

  @Test
  void batchesStayWithinTheByteBudgetAndTheCount() {
    List<Record> records = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      records.add(record("k" + i, 500 * 1024));
    }
    List<List<Record>> batches = PeerBatches.split(records, RecordJson::wireBytes, 256);
    assertEquals(20, batches.size(), "2 values of 500 KiB per 1 MiB request");
    for (List<Record> b : batches) {
      long bytes = b.stream().mapToLong(RecordJson::wireBytes).sum();
      assertTrue(bytes <= PeerLimits.BATCH_BYTES, bytes + " bytes");
      assertTrue(bytes + PeerLimits.ENVELOPE <= PeerLimits.bodyLimit(1 << 20), "below the receiver's body limit");
    }
    List<Record> small = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      small.add(record("s" + i, 20));
    }
    assertEquals(List.of(256, 256, 256, 232), PeerBatches.split(small, RecordJson::wireBytes, 256).stream().map(List::size).toList(),
        "small records are bounded by the count");
  }

  @Test
  void aValueOfTheLargestAllowedSizeTravelsAloneAndFitsTheReceiversLimit() {
    int maxValue = 64 << 20;
    Record huge = record("huge", maxValue);
    List<List<Record>> batches = PeerBatches.split(List.of(record("a", 10), huge, record("b", 10)), RecordJson::wireBytes, 256);
    assertEquals(List.of(1, 1, 1), batches.stream().map(List::size).toList());
    assertTrue(RecordJson.wireBytes(huge) <= PeerLimits.largestBatch(maxValue));
    assertTrue(PeerLimits.bodyLimit(maxValue) > RecordJson.encodeList(List.of(huge)).length());
    // 1 MiB values (the default MAX_VALUE_BYTES) travel one per request
    List<Record> mib = List.of(record("m0", 1 << 20), record("m1", 1 << 20), record("m2", 1 << 20));
    assertEquals(List.of(1, 1, 1), PeerBatches.split(mib, RecordJson::wireBytes, 256).stream().map(List::size).toList());
    assertTrue(RecordJson.wireBytes(mib.get(0)) + PeerLimits.ENVELOPE <= PeerLimits.bodyLimit(1 << 20));
  }

  @Test
  void wireBytesMatchTheEncodedRecord() {
    for (Record r : List.of(record("plain", 100), Record.tombstone("t\"ü\n\u0001😀", Version.of(1764084083123L, 5, 2)),
        Record.write("k", "{\"a\":\"é😀\"}", Version.of(1764084083123L, 0, 0), 1764084083123L))) {
      int encoded = RecordJson.encodeList(List.of(r)).getBytes(java.nio.charset.StandardCharsets.UTF_8).length - 2;
      int estimate = RecordJson.wireBytes(r);
      assertTrue(estimate >= encoded && estimate - encoded < 80, encoded + " bytes encoded, " + estimate + " estimated: " + r);
    }
  }

  @Test
  void aRefusedRecordIsIsolatedAndTheRestOfItsBatchIsDelivered() {
    List<String> items = new ArrayList<>();
    for (int i = 0; i < 37; i++) {
      items.add(i == 21 ? "bad" : "ok" + i);
    }
    List<String> delivered = new ArrayList<>();
    int[] requests = {0};
    List<String> refused = PeerBatches.deliver(items, batch -> {
      requests[0]++;
      if (batch.contains("bad")) {
        return Future.failedFuture(new PeerRefused(1, 413, "/internal/apply"));
      }
      delivered.addAll(batch);
      return Future.succeededFuture();
    }).result();
    assertEquals(List.of("bad"), refused);
    assertEquals(36, delivered.size());
    assertTrue(requests[0] <= 2 * 6 + 1, requests[0] + " requests");
  }

  @Test
  void aPeerThatIsDownOrBusyFailsTheBatchForALaterRetry() {
    Future<List<String>> down = PeerBatches.deliver(List.of("a", "b"), batch -> Future.failedFuture("connection refused"));
    assertTrue(down.failed());
    Future<List<String>> busy = PeerBatches.deliver(List.of("a", "b"), batch -> Future.failedFuture(new PeerRefused(1, 503, "/internal/apply")));
    assertTrue(busy.failed());
  }
}
