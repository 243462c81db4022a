package io.distributedsqlite.cluster;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/** What one anti-entropy round with one peer did. */
public record RepairReport(int peer, int bucketsCompared, int bucketsDiffering, long recordsSent,
    long recordsReceived, long durationMs, long completedAtMillis) {

  public JsonObject toJson() {
    return new JsonObject()
        .put("peer", peer)
        .put("buckets_compared", bucketsCompared)
        .put("buckets_differing", bucketsDiffering)
        .put("records_sent", recordsSent)
        .put("records_received", recordsReceived)
        .put("duration_ms", durationMs)
        .put("completed_at", Instant.ofEpochMilli(completedAtMillis).toString());
  }
}
