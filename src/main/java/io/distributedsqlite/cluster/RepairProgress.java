package io.distributedsqlite.cluster;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * How far one repair round with every peer has got: peers done of the total, what the peers done
 * and the one under way compared and moved, and, once complete, the round's report. Read and
 * written on the anti-entropy event loop only; {@code GET /admin/repair} shows it.
 */
final class RepairProgress {
  final long startedAt;
  final int peersTotal;
  /** Whether to log each peer done at INFO (a round an operator asked for). */
  boolean verbose;
  int peersDone;
  int peersFailed;
  private long bucketsCompared;
  private long bucketsDiffering;
  private long bucketsWalked;
  private long recordsPulled;
  private long recordsPushed;
  private PeerRepairRound current;
  private final JsonArray peers = new JsonArray();
  private long completedAt;

  RepairProgress(long startedAt, int peersTotal) {
    this.startedAt = startedAt;
    this.peersTotal = peersTotal;
  }

  /** The exchange with the next peer is under way ({@code round} null: it failed before starting). */
  void peerStarted(PeerRepairRound round) {
    current = round;
  }

  /** The exchange with a peer ended; {@code result} is its report or its error, as in the round's report. */
  void peerFinished(PeerRepairRound round, JsonObject result) {
    if (round != null) {
      bucketsCompared += round.bucketsCompared;
      bucketsDiffering += round.bucketsDiffering;
      bucketsWalked += round.bucketsWalked;
      recordsPulled += round.received;
      recordsPushed += round.sent;
    }
    current = null;
    peersDone++;
    if (result.containsKey("error")) {
      peersFailed++;
    }
    peers.add(result);
  }

  void complete(long now) {
    completedAt = now;
  }

  boolean running() {
    return completedAt == 0;
  }

  long durationMs(long now) {
    return (running() ? now : completedAt) - startedAt;
  }

  /** The report of the round, as {@code POST /admin/repair} has always answered it: every peer's report or error. */
  JsonObject report(String nodeName) {
    return new JsonObject().put("node_id", nodeName).put("peers", peers.copy());
  }

  /** Counts so far, including what the exchange under way has done. */
  JsonObject toJson(long now) {
    PeerRepairRound c = current;
    JsonObject out = new JsonObject()
        .put("started_at", Instant.ofEpochMilli(startedAt).toString())
        .put("peers_total", peersTotal)
        .put("peers_done", peersDone)
        .put("peers_failed", peersFailed)
        .put("current_peer", c == null ? null : c.peer)
        .put("buckets_compared", bucketsCompared + (c == null ? 0 : c.bucketsCompared))
        .put("buckets_differing", bucketsDiffering + (c == null ? 0 : c.bucketsDiffering))
        .put("buckets_walked", bucketsWalked + (c == null ? 0 : c.bucketsWalked))
        .put("records_pulled", recordsPulled + (c == null ? 0 : c.received))
        .put("records_pushed", recordsPushed + (c == null ? 0 : c.sent))
        .put("duration_ms", durationMs(now));
    if (!running()) {
      out.put("completed_at", Instant.ofEpochMilli(completedAt).toString()).put("peers", peers.copy());
    }
    return out;
  }
}
