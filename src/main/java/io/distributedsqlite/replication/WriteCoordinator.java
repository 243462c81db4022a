package io.distributedsqlite.replication;

import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.cluster.PeerStatus;
import io.distributedsqlite.cluster.Ring;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.HybridLogicalClock;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.Version;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import java.util.List;

/**
 * Coordinates client writes. Stamps the version, sends the record to every replica of the key
 * through a {@link ReplicaLink} each (this node's storage worker, or a peer), and answers
 * when the write consistency is met or can no longer be met. The write still goes to every
 * replica that is up; each replica that does not acknowledge gets a durable hint instead.
 *
 * <p>One per HTTP verticle instance, running on that instance's event loop: a client write costs
 * no event-bus hop before it reaches the storage worker or a peer link. Not thread-safe; call it
 * from its event loop only.
 *
 * <p>At {@code w=one} with this node among the replicas the local commit is nearly always the
 * first acknowledgement: the original "write-local-first" behaviour.
 */
public final class WriteCoordinator {
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setSendTimeout(30_000);

  private final Vertx vertx;
  private final NodeConfig config;
  private final Ring ring;
  private final HybridLogicalClock clock;
  private final boolean[] up;
  private final ReplicaLink[] links;
  private final Counter hintsStored;
  private final Counter unavailable;

  public WriteCoordinator(Vertx vertx, NodeConfig config, Ring ring, HybridLogicalClock clock, PeerClient client,
      MeterRegistry registry) {
    this.vertx = vertx;
    this.config = config;
    this.ring = ring;
    this.clock = clock;
    this.up = new boolean[config.clusterSize()];
    java.util.Arrays.fill(up, true);
    this.links = new ReplicaLink[config.clusterSize()];
    for (int i = 0; i < links.length; i++) {
      int peer = i;
      // A full queue refuses new writes rather than growing: locally as the storage worker's own
      // refusal (503 overloaded), towards a peer as a failed send (the write is hinted).
      links[i] = peer == config.nodeId()
          ? new ReplicaLink(records -> vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(records), LOCAL),
              config.writeQueueMax(), () -> new ReplyException(ReplyFailure.RECIPIENT_FAILURE, StorageVerticle.QUEUE_FULL,
                  "write queue is full (" + config.writeQueueMax() + " writes)"))
          : new ReplicaLink(records -> client.apply(peer, records),
              config.writeQueueMax(), () -> new IllegalStateException("the queue to peer " + peer + " is full"));
    }
    this.hintsStored = Counter.builder("dsqlite_hints_stored").description("Writes kept as hints for replicas that did not ack").register(registry);
    this.unavailable = Counter.builder("dsqlite_writes_unavailable").description("Writes whose consistency level was not met").register(registry);
  }

  /** Membership news: a peer seen down is skipped, and the writes queued for it fail over to hints. */
  public void peerStatus(PeerStatus status) {
    up[status.peer()] = status.up();
    if (!status.up()) {
      links[status.peer()].failQueued("peer " + status.peer() + " is down");
    }
  }

  public Future<WriteOutcome> write(WriteRequest req) {
    Promise<WriteOutcome> answer = Promise.promise();
    Version version = clock.now();
    Record record = req.tombstone()
        ? Record.tombstone(req.key(), version)
        : Record.write(req.key(), req.value(), version, req.expiresAt());
    int[] replicas = ring.replicasFor(req.key());
    AckCounter acks = new AckCounter(replicas.length, req.level().required(replicas.length));
    for (int replica : replicas) {
      Future<Void> sent;
      if (replica == config.nodeId()) {
        sent = applyLocally(record, acks);
      } else if (!up[replica]) {
        sent = Future.failedFuture("peer " + replica + " is down");
      } else {
        sent = links[replica].send(record);
      }
      sent.onComplete(ar -> {
        if (ar.succeeded()) {
          acks.ack();
        } else {
          acks.fail();
          if (replica != config.nodeId()) {
            hint(replica, record);
          }
        }
        if (acks.readyToAnswer()) {
          WriteOutcome out = new WriteOutcome(version, replicas.length, acks.required(), acks.acked(), acks.localFailure());
          if (!out.met()) {
            unavailable.increment();
          }
          answer.complete(out);
        }
      });
    }
    return answer.future();
  }

  /**
   * Coordinates each request exactly as {@link #write} does, at its own level, and sends every
   * replica its share of the records together (one request to each peer, one command to the
   * local storage worker, within the link's byte bound). Not atomic across keys: each write
   * succeeds or fails on its own. The outcomes are in the order of the requests.
   */
  public List<Future<WriteOutcome>> writeAll(List<WriteRequest> reqs) {
    for (ReplicaLink link : links) {
      link.hold();
    }
    List<Future<WriteOutcome>> out = new java.util.ArrayList<>(reqs.size());
    try {
      for (WriteRequest req : reqs) {
        out.add(write(req));
      }
    } finally {
      for (ReplicaLink link : links) {
        link.release();
      }
    }
    return out;
  }

  private Future<Void> applyLocally(Record record, AckCounter acks) {
    return links[config.nodeId()].send(record)
        .onFailure(t -> acks.localFailure(t instanceof ReplyException re ? re.failureCode() : 500));
  }

  private void hint(int replica, Record record) {
    if (!config.hintedHandoff()) {
      return;
    }
    vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.StoreHints(replica, List.of(record)))
        .onSuccess(m -> hintsStored.increment());
  }
}
