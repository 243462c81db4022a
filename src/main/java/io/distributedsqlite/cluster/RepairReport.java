package io.distributedsqlite.cluster;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * What one anti-entropy round with one peer did. {@code peerRebuilding}: the peer said it was
 * rebuilding (an empty database) when the round began, so the round could not bring this node
 * anything the peer had not just received itself.
 */
public record RepairReport(int peer, int bucketsCompared, int bucketsDiffering, long recordsSent,
    long recordsReceived, long durationMs, long completedAtMillis, boolean peerRebuilding) {

  public JsonObject toJson() {
    return new JsonObject()
        .put("peer", peer)
        .put("buckets_compared", bucketsCompared)
        .put("buckets_differing", bucketsDiffering)
        .put("records_sent", recordsSent)
        .put("records_received", recordsReceived)
        .put("duration_ms", durationMs)
        .put("completed_at", Instant.ofEpochMilli(completedAtMillis).toString())
        .put("peer_rebuilding", peerRebuilding);
  }
}
