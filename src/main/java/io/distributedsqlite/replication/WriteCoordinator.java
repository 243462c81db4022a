package io.distributedsqlite.replication;

import io.distributedsqlite.cluster.ClockOffsets;
import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.cluster.PeerView;
import io.distributedsqlite.cluster.CurrentView;
import io.distributedsqlite.cluster.ReplicaSet;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.HybridLogicalClock;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.Version;
import io.distributedsqlite.storage.WriteRefused;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import java.util.List;

/**
 * Coordinates client writes. Stamps the version, sends the record to every replica of the key
 * through a {@link ReplicaLink} each (this node's storage worker, or a peer), and answers
 * when the write consistency is met or can no longer be met. The write still goes to every
 * replica that is up; each replica that does not acknowledge gets a durable hint instead.
 *
 * <p>One per HTTP verticle instance, running on that instance's event loop: a client write costs
 * no event-bus hop before it reaches the storage worker or a peer link. Which peers are up comes
 * from the event loop's {@link PeerView}. Not thread-safe; call it from its event loop only.
 *
 * <p>At {@code w=one} with this node among the replicas the local commit is nearly always the
 * first acknowledgement: the original "write-local-first" behaviour.
 */
public final class WriteCoordinator {
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setSendTimeout(30_000);

  private final Vertx vertx;
  private final NodeConfig config;
  private final CurrentView view;
  private final HybridLogicalClock clock;
  private final PeerView peers;
  private final ReplicaLink[] links;
  private final Counter hintsStored;
  private final Counter unavailable;
  private final Counter restamped;
  private final Counter clockRefusals;
  private final ClockOffsets offsets;

  /** Stamps per write at most: the first and up to three re-stamps after losing to an unseen version. */
  static final int MAX_ATTEMPTS = 4;

  private final PeerClient client;

  public WriteCoordinator(Vertx vertx, NodeConfig config, CurrentView view, ClockOffsets offsets, PeerClient client, PeerView peers,
      MeterRegistry registry) {
    this.vertx = vertx;
    this.offsets = offsets;
    HybridLogicalClock clock = offsets.clock();
    this.config = config;
    this.view = view;
    this.clock = clock;
    this.peers = peers;
    this.client = client;
    this.links = new ReplicaLink[NodeConfig.MAX_ORDINAL + 1];
    this.hintsStored = Counter.builder("dsqlite_hints_stored").description("Writes kept as hints for replicas that did not ack").register(registry);
    this.unavailable = Counter.builder("dsqlite_writes_unavailable").description("Writes whose consistency level was not met").register(registry);
    this.restamped = Counter.builder("dsqlite_writes_restamped")
        .description("Write attempts stamped again because a replica kept a newer version the coordinator had not seen").register(registry);
    this.clockRefusals = Counter.builder("dsqlite_writes_refused_clock")
        .description("Writes refused with 503 clock_offset because this node's clock was unfit to stamp them").register(registry);
    // A peer seen down is skipped, and the writes queued for it fail over to hints.
    peers.onChange(status -> {
      if (!status.up() && links[status.peer()] != null) {
        links[status.peer()].failQueued("peer " + status.peer() + " is down");
      }
    });
  }

  /** The link to {@code node}, made on first use (members that join later get theirs then). */
  private ReplicaLink link(int node) {
    ReplicaLink link = links[node];
    if (link == null) {
      // A full queue refuses new writes rather than growing: locally as the storage worker's own
      // refusal (503 overloaded), towards a peer as a failed send (the write is hinted).
      link = node == config.nodeId()
          ? new ReplicaLink(records -> vertx.eventBus().<ApplyResult>request(StorageVerticle.ADDRESS, new StorageCommand.Apply(records), LOCAL)
              .map(m -> m.body()),
              config.writeQueueMax(), () -> new WriteRefused(WriteRefused.Reason.OVERLOADED,
                  "write queue is full (" + config.writeQueueMax() + " writes)"))
          : new ReplicaLink(records -> client.apply(node, records),
              config.writeQueueMax(), () -> new IllegalStateException("the queue to peer " + node + " is full"));
      links[node] = link;
    }
    return link;
  }

  /**
   * Coordinates one write. Refused with 503 {@code clock_offset} while this node's clock is unfit
   * to stamp writes ({@link ClockOffsets#refusal()}); right after start-up, while only the first
   * offset measurements are missing, the write waits for them up to PEER_TIMEOUT.
   */
  public Future<WriteOutcome> write(WriteRequest req) {
    if (offsets.refusal() == null) {
      return new Write(req).start();
    }
    return clockReady(System.nanoTime() + config.peerTimeout().toNanos()).compose(v -> new Write(req).start());
  }

  /**
   * Coordinates each request exactly as {@link #write} does, at its own level, and sends every
   * replica its share of the records together (one request to each peer, one command to the
   * local storage worker, within the link's byte bound). Not atomic across keys: each write
   * succeeds or fails on its own. The outcomes are in the order of the requests.
   */
  public List<Future<WriteOutcome>> writeAll(List<WriteRequest> reqs) {
    // Every member's link, made now if it is new, so that no op of the batch leaves before the last is queued.
    List<ReplicaLink> held = new java.util.ArrayList<>();
    for (io.distributedsqlite.cluster.MembershipView.Member m : view.view().members()) {
      ReplicaLink link = link(m.ordinal());
      link.hold();
      held.add(link);
    }
    List<Future<WriteOutcome>> out = new java.util.ArrayList<>(reqs.size());
    try {
      for (WriteRequest req : reqs) {
        out.add(write(req));
      }
    } finally {
      for (ReplicaLink link : held) {
        link.release();
      }
    }
    return out;
  }

  private Future<Void> clockReady(long deadlineNanos) {
    String refusal = offsets.refusal();
    if (refusal == null) {
      return Future.succeededFuture();
    }
    if (offsets.measuring() && System.nanoTime() < deadlineNanos) {
      Promise<Void> p = Promise.promise();
      vertx.setTimer(20, id -> clockReady(deadlineNanos).onComplete(p));
      return p.future();
    }
    clockRefusals.increment();
    return Future.failedFuture(new WriteRefused(WriteRefused.Reason.CLOCK_OFFSET, refusal));
  }

  /**
   * One write in progress. Each attempt stamps the record and sends it to every replica. A
   * replica that keeps a newer version answers with it; that version was not seen when the
   * record was stamped (else the stamp would be newer), so the coordinator moves its clock past
   * it and starts a new attempt with a new stamp, up to {@link #MAX_ATTEMPTS} in all. The answer
   * comes from the attempt in which {@code required} replicas applied the record.
   *
   * <p>A verdict that arrives after the answer never re-stamps: the newer version it reports may
   * belong to a write that started after this one was acknowledged, and re-stamping over it would
   * lose that write. At {@code w=quorum} and above nothing is given up: a write acknowledged
   * before this one started sits on a replica of this write's quorum, which reported it before
   * the answer. At {@code w=one} the peers' verdicts usually arrive after the answer, so such a
   * write may lose to an earlier one stamped by a clock running ahead (within MAX_CLOCK_OFFSET),
   * which is that level's documented meaning.
   */
  private final class Write {
    private final WriteRequest req;
    private final ReplicaSet set;
    /** Counts this write as one of its view's until every send settled ({@link CurrentView#enter}). */
    private final Runnable done;
    /** Sends not settled yet, over every attempt. */
    private int outstanding;
    private final int[] replicas;
    private final Promise<WriteOutcome> answer = Promise.promise();
    private int attempt = -1;
    private boolean answered;

    Write(WriteRequest req) {
      this.req = req;
      this.done = view.enter(view.view().epoch());
      this.set = view.placement().replicasFor(req.key());
      this.replicas = set.all();
    }

    Future<WriteOutcome> start() {
      send();
      return answer.future();
    }

    private void send() {
      int current = ++attempt;
      if (current > 0) {
        restamped.increment();
      }
      Version version = clock.now();
      Record record = req.tombstone()
          ? Record.tombstone(req.key(), version)
          : Record.write(req.key(), req.value(), version, req.expiresAt());
      AckCounter acks = new AckCounter(set, req.level());
      outstanding += replicas.length;
      for (int replica : replicas) {
        Future<ApplyResult.Outcome> sent;
        if (replica == config.nodeId()) {
          sent = applyLocally(record, acks);
        } else if (!peers.isUp(replica)) {
          sent = Future.failedFuture("peer " + replica + " is down");
        } else {
          sent = link(replica).send(record);
        }
        sent.onComplete(ar -> {
          settled(current, acks, replica, record, ar);
          if (--outstanding == 0) {
            done.run(); // every send of every attempt settled
          }
        });
      }
    }

    private void settled(int att, AckCounter acks, int replica, Record record, AsyncResult<ApplyResult.Outcome> ar) {
      if (ar.failed()) {
        acks.fail(replica);
        if (replica != config.nodeId()) {
          hint(replica, record);
        }
      } else {
        ApplyResult.Outcome o = ar.result();
        switch (o.kind()) {
          case APPLIED -> acks.ack(replica);
          case SUPERSEDED -> {
            clock.observe(o.winner());
            if (!answered && att == attempt && attempt + 1 < MAX_ATTEMPTS) {
              send();
              return;
            }
            acks.fail(replica);
          }
          // Stamped beyond that replica's future cap: a hint would be refused as well.
          case REFUSED_FUTURE -> acks.fail(replica);
        }
      }
      if (att == attempt && !answered && acks.readyToAnswer()) {
        answered = true;
        WriteOutcome out = new WriteOutcome(record.version(), replicas.length, acks.required(), acks.acked(), acks.met(),
            set.moving(), acks.localRefusal(), attempt);
        if (!out.met()) {
          unavailable.increment();
        }
        answer.complete(out);
      }
    }
  }

  private Future<ApplyResult.Outcome> applyLocally(Record record, AckCounter acks) {
    return link(config.nodeId()).send(record)
        .onFailure(t -> acks.localRefusal(WriteRefused.from(t)));
  }

  private void hint(int replica, Record record) {
    if (!config.hintedHandoff()) {
      return;
    }
    vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.StoreHints(replica, List.of(record)))
        .onSuccess(m -> hintsStored.increment());
  }
}
