package io.distributedsqlite.replication;

import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.storage.Record;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The write path to one peer. Coalesces: while {@link #MAX_IN_FLIGHT} requests are out, new
 * records queue up and leave together in the next {@code /internal/apply} request (up to
 * {@link #MAX_BATCH} records), so under load one HTTP request carries many client writes.
 * Each record's future completes when the peer committed the request that carried it.
 */
final class PeerLink {
  static final int MAX_IN_FLIGHT = 2;
  static final int MAX_BATCH = 256;
  static final int MAX_BATCH_WEIGHT = 4 << 20;

  private record Pending(Record record, Promise<Void> promise) {}

  private final int peer;
  private final PeerClient client;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int inFlight;

  PeerLink(int peer, PeerClient client) {
    this.peer = peer;
    this.client = client;
  }

  Future<Void> send(Record record) {
    Promise<Void> p = Promise.promise();
    queue.add(new Pending(record, p));
    pump();
    return p.future();
  }

  /** Fails everything queued, e.g. when the peer is seen down; callers hint those writes. */
  void failQueued(String reason) {
    while (!queue.isEmpty()) {
      queue.poll().promise().tryFail(reason);
    }
  }

  private void pump() {
    while (inFlight < MAX_IN_FLIGHT && !queue.isEmpty()) {
      List<Pending> batch = new ArrayList<>();
      List<Record> records = new ArrayList<>();
      int weight = 0;
      while (!queue.isEmpty() && batch.size() < MAX_BATCH && (batch.isEmpty() || weight + queue.peek().record().weight() <= MAX_BATCH_WEIGHT)) {
        Pending p = queue.poll();
        batch.add(p);
        records.add(p.record());
        weight += p.record().weight();
      }
      inFlight++;
      client.apply(peer, records).onComplete(ar -> {
        inFlight--;
        for (Pending p : batch) {
          if (ar.succeeded()) {
            p.promise().tryComplete();
          } else {
            p.promise().tryFail(ar.cause());
          }
        }
        pump();
      });
    }
  }
}
