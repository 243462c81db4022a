package io.distributedsqlite.read;

import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.cluster.PeerStatus;
import io.distributedsqlite.cluster.Ring;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.replication.AckCounter;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import java.util.List;

/**
 * Coordinates client reads: asks every replica of the key that is up (this node through the read
 * pool, peers through {@code /internal/read}, both coalesced by a {@link ReadBatcher}), answers once the read consistency's number of
 * replicas answered with the newest version among them, and then, in the background, sends the
 * newest version seen to every replica that answered with an older one or none (read repair).
 */
public final class QuorumReadVerticle extends VerticleBase {
  public static final String ADDRESS = "read.quorum";

  private final NodeConfig config;
  private final Ring ring;
  private final RecordReader reader;
  private final MeterRegistry registry;
  private final boolean[] up;
  private PeerClient client;
  private ReadBatcher[] batchers;
  private Counter repairs;

  public QuorumReadVerticle(NodeConfig config, Ring ring, RecordReader reader, MeterRegistry registry) {
    this.config = config;
    this.ring = ring;
    this.reader = reader;
    this.registry = registry;
    this.up = new boolean[config.clusterSize()];
    java.util.Arrays.fill(up, true);
  }

  @Override
  public Future<?> start() {
    client = new PeerClient(vertx, config);
    batchers = new ReadBatcher[config.clusterSize()];
    for (int i = 0; i < batchers.length; i++) {
      int peer = i;
      batchers[i] = peer == config.nodeId() ? new ReadBatcher(reader::records) : new ReadBatcher(keys -> client.read(peer, keys));
    }
    repairs = Counter.builder("dsqlite_read_repairs").description("Replicas sent a newer version by read repair").register(registry);
    vertx.eventBus().<PeerStatus>consumer(PeerStatus.ADDRESS, m -> up[m.body().peer()] = m.body().up());
    return vertx.eventBus().<ReadRequest>consumer(ADDRESS, this::coordinate).completion();
  }

  @Override
  public Future<?> stop() {
    client.close();
    return Future.succeededFuture();
  }

  /** What one replica said: its record (null when it has none), or that it did not answer. */
  private record Answer(int replica, Record record, boolean answered) {}

  private void coordinate(Message<ReadRequest> msg) {
    ReadRequest req = msg.body();
    int[] replicas = ring.replicasFor(req.key());
    AckCounter counter = new AckCounter(replicas.length, req.level().required(replicas.length));
    Answer[] answers = new Answer[replicas.length];
    int[] done = {0};
    for (int i = 0; i < replicas.length; i++) {
      int idx = i;
      int replica = replicas[i];
      Future<Record> f;
      if (replica != config.nodeId() && !up[replica]) {
        f = Future.failedFuture("down");
      } else {
        f = batchers[replica].get(req.key());
      }
      f.onComplete(ar -> {
        answers[idx] = new Answer(replica, ar.succeeded() ? ar.result() : null, ar.succeeded());
        if (ar.succeeded()) {
          counter.ack();
        } else {
          counter.fail();
        }
        if (counter.readyToAnswer()) {
          Record newest = newest(answers);
          int stale = counter.met() ? countStale(answers, newest) : 0;
          msg.reply(new ReadOutcome(newest, req.level(), replicas.length, counter.required(), counter.acked(), stale));
        }
        if (++done[0] == replicas.length) {
          repair(answers);
        }
      });
    }
  }

  private static Record newest(Answer[] answers) {
    Record best = null;
    for (Answer a : answers) {
      if (a != null && a.answered() && a.record() != null && a.record().supersedes(best)) {
        best = a.record();
      }
    }
    return best;
  }

  private static int countStale(Answer[] answers, Record newest) {
    if (newest == null) {
      return 0;
    }
    int n = 0;
    for (Answer a : answers) {
      if (a != null && a.answered() && newest.supersedes(a.record())) {
        n++;
      }
    }
    return n;
  }

  /** Sends the newest version to each replica that answered with less; failures are left to hints and anti-entropy. */
  private void repair(Answer[] answers) {
    Record newest = newest(answers);
    if (newest == null) {
      return;
    }
    for (Answer a : answers) {
      if (!a.answered() || !newest.supersedes(a.record())) {
        continue;
      }
      repairs.increment();
      if (a.replica() == config.nodeId()) {
        vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(List.of(newest)));
      } else {
        client.apply(a.replica(), List.of(newest));
      }
    }
  }
}
