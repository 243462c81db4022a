package io.distributedsqlite.read;

import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.cluster.PeerView;
import io.distributedsqlite.cluster.CurrentView;
import io.distributedsqlite.cluster.ReplicaSet;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.HybridLogicalClock;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordCache;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Coordinates client reads, as Cassandra and Dynamo do: asks as many of the key's replicas as the
 * read consistency needs (this node first when it is one, then peers that are up, in ring order),
 * and asks the next replica whenever one fails, or (once per read) when one has not answered
 * within {@link #SPECULATE_AFTER_MS}. It answers with the newest version once enough replicas answered,
 * then sends that version to every asked replica that answered with an older one or none (read
 * repair). Replicas that were not asked are left to hints and anti-entropy. While this node is
 * rebuilding (an empty database, before its first repair round) its own records answer nothing:
 * it is asked last and counts as a failed replica, so an absent key is never answered from it.
 *
 * <p>Local reads come from the {@link RecordCache} (one lookup per read) or go to the read pool,
 * peer reads to {@code /internal/read}; both trips are coalesced by a {@link ReadBatcher}. Which
 * peers are up comes from the event loop's {@link PeerView}. One per HTTP verticle instance, on
 * its event loop; not thread-safe.
 */
public final class ReadCoordinator {
  /** A replica that has not answered by then is presumed slow and the next one is asked too. */
  static final long SPECULATE_AFTER_MS = 100;

  private final Vertx vertx;
  private final NodeConfig config;
  private final CurrentView view;
  private final PeerClient client;
  private final RecordReader reader;
  private final PeerView peers;
  private final ReadBatcher[] batchers;
  private final Counter repairs;
  private final BooleanSupplier selfAnswers;
  private final HybridLogicalClock clock;

  /** {@code selfAnswers}: whether this node's own records may answer reads (false while it rebuilds). */
  public ReadCoordinator(Vertx vertx, NodeConfig config, CurrentView view, RecordReader reader, PeerClient client, PeerView peers,
      HybridLogicalClock clock, MeterRegistry registry, BooleanSupplier selfAnswers) {
    this.selfAnswers = selfAnswers;
    this.vertx = vertx;
    this.clock = clock;
    this.config = config;
    this.view = view;
    this.client = client;
    this.reader = reader;
    this.peers = peers;
    this.batchers = new ReadBatcher[NodeConfig.MAX_ORDINAL + 1];
    this.repairs = Counter.builder("dsqlite_read_repairs").description("Replicas sent a newer version by read repair").register(registry);
  }

  /** The batcher of reads to {@code node}, made on first use. */
  private ReadBatcher batcher(int node) {
    ReadBatcher b = batchers[node];
    if (b == null) {
      b = node == config.nodeId() ? new ReadBatcher(reader::uncachedRecords) : new ReadBatcher(keys -> client.read(node, keys));
      batchers[node] = b;
    }
    return b;
  }

  public Future<ReadOutcome> read(ReadRequest req) {
    return new Read(req).start();
  }

  /**
   * The order replicas are asked in: this node, then peers that are up, then peers seen down. A
   * rebuilding node puts itself last.
   */
  private int[] askOrder(int[] replicas, boolean selfFirst) {
    int[] order = new int[replicas.length];
    int n = 0;
    for (int r : replicas) {
      if (r == config.nodeId() && selfFirst) {
        order[n++] = r;
      }
    }
    for (int r : replicas) {
      if (r != config.nodeId() && peers.isUp(r)) {
        order[n++] = r;
      }
    }
    for (int r : replicas) {
      if (r != config.nodeId() && !peers.isUp(r)) {
        order[n++] = r;
      }
    }
    for (int r : replicas) {
      if (r == config.nodeId() && !selfFirst) {
        order[n++] = r;
      }
    }
    return order;
  }

  /** One client read in progress. */
  private final class Read {
    private final ReadRequest req;
    private final ReplicaSet set;
    private final int[] order;
    /** How many are asked at once: the level's count, or every replica during a membership change. */
    private final int required;
    private final Promise<ReadOutcome> answer = Promise.promise();
    /** Per position in {@link #order}: whether that replica answered, and its record (null: none). */
    private final boolean[] answered;
    private final Record[] records;
    private int asked;
    private int pending;
    private int answers;
    private boolean replied;
    private long speculation = -1;
    private boolean speculated;
    /** True while the first replicas are asked: an answer can arrive synchronously (a fast local read). */
    private boolean starting;

    /** Whether this node's own records answer this read (false while it rebuilds). */
    private final boolean selfServes;

    Read(ReadRequest req) {
      this.req = req;
      this.selfServes = selfAnswers.getAsBoolean();
      this.set = view.placement().replicasFor(req.key());
      this.order = askOrder(set.all(), selfServes);
      this.required = set.moving() ? order.length : req.level().required(order.length);
      this.answered = new boolean[order.length];
      this.records = new Record[order.length];
    }

    Future<ReadOutcome> start() {
      starting = true;
      while (asked < required) {
        askNext();
      }
      starting = false;
      decide();
      return answer.future();
    }

    private void askNext() {
      int idx = asked++;
      int replica = order[idx];
      pending++;
      Future<Record> f;
      RecordCache.Entry hit;
      if (replica == config.nodeId() && !selfServes) {
        f = Future.failedFuture("this node is rebuilding");
      } else if (replica == config.nodeId() && (hit = reader.cached(req.key())) != null) {
        f = Future.succeededFuture(hit.record());
      } else if (replica != config.nodeId() && !peers.isUp(replica)) {
        f = Future.failedFuture("peer " + replica + " is down");
      } else {
        f = batcher(replica).send(req.key());
      }
      if (replica != config.nodeId() && !speculated && speculation < 0 && !f.isComplete()) {
        speculation = vertx.setTimer(SPECULATE_AFTER_MS, id -> speculate());
      }
      f.onComplete(ar -> settled(idx, ar.succeeded(), ar.succeeded() ? ar.result() : null));
    }

    /** At most once per read: under overload, more speculative asks would only add to the load. */
    private void speculate() {
      speculation = -1;
      speculated = true;
      if (!replied && asked < order.length) {
        askNext();
      }
    }

    private void settled(int idx, boolean ok, Record record) {
      pending--;
      if (ok) {
        if (record != null) {
          // Every version a node sees moves its clock (one beyond the future cap does not).
          clock.observe(record.version());
        }
        answered[idx] = true;
        records[idx] = record;
        answers++;
      } else if (!replied && asked < order.length) {
        askNext();
      }
      if (!starting) {
        decide();
      }
    }

    /** Whether the replicas that answered meet the level (among current and next ones during a change). */
    private boolean enough() {
      if (!set.moving()) {
        return answers >= required;
      }
      return set.met(req.level(), node -> {
        for (int i = 0; i < order.length; i++) {
          if (order[i] == node) {
            return answered[i];
          }
        }
        return false;
      });
    }

    private void decide() {
      if (!replied && (enough() || pending == 0)) {
        replied = true;
        if (speculation >= 0) {
          vertx.cancelTimer(speculation);
        }
        Record newest = newest();
        boolean met = enough();
        int stale = met ? countStale(newest) : 0;
        answer.complete(new ReadOutcome(newest, req.level(), order.length, asked, req.level().required(set.current().length),
            answers, met, set.moving(), stale));
      }
      if (replied && pending == 0) {
        repair();
      }
    }

    private Record newest() {
      Record best = null;
      for (int i = 0; i < order.length; i++) {
        if (answered[i] && records[i] != null && records[i].supersedes(best)) {
          best = records[i];
        }
      }
      return best;
    }

    private int countStale(Record newest) {
      if (newest == null) {
        return 0;
      }
      int n = 0;
      for (int i = 0; i < order.length; i++) {
        if (answered[i] && newest.supersedes(records[i])) {
          n++;
        }
      }
      return n;
    }

    /** Sends the newest version to each replica that answered with less; failures are left to hints and anti-entropy. */
    private void repair() {
      Record newest = newest();
      if (newest == null) {
        return;
      }
      for (int i = 0; i < order.length; i++) {
        if (!answered[i] || !newest.supersedes(records[i])) {
          continue;
        }
        repairs.increment();
        // A replica that holds an even newer version (written meanwhile) or refuses the record as
        // stamped beyond its future cap says so; repair moves on either way, the clock moves past a
        // newer version.
        if (order[i] == config.nodeId()) {
          vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(List.of(newest)));
        } else {
          client.apply(order[i], List.of(newest)).onSuccess(result -> {
            if (result.get(0).winner() != null) {
              clock.observe(result.get(0).winner());
            }
          });
        }
      }
    }
  }
}
