package io.distributedsqlite.read;

import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.cluster.PeerView;
import io.distributedsqlite.cluster.ScanPlan;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.KeyRange;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.ScanPage;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.Version;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * Coordinates one page of a client scan across the whole ring, in one round of peer requests.
 *
 * <p>Every node the {@link ScanPlan} names is asked for its next {@code limit} records in the
 * range after the cursor (tombstones included, bounded by bytes too). A node that filled its page
 * has answered only up to its last key, so the page is decided up to the smallest such key (the
 * frontier): below it every answering node has shown every copy it holds. Per key, only the
 * copies of the key's own replicas count (a copy elsewhere is a stray), the newest version wins,
 * and tombstones and expired records are left out. The page holds the first {@code limit} live
 * keys up to the frontier; the cursor is the last key the page decided, so the next page starts
 * strictly after it: a key that stayed unchanged during the whole scan is neither repeated nor
 * skipped, whatever else is written meanwhile.
 *
 * <p>The level is met when every token range has {@code level.required(RF)} of its replicas among
 * the nodes that answered (a node seen down or failing does not answer); otherwise the page is
 * refused. Replicas of a decided key that answered with an older version or none are sent the
 * newest (read repair); without values, the full record is fetched first from a replica that has
 * it. Memory per page: at most {@code limit} records from each node.
 *
 * <p>One per HTTP verticle instance, on its event loop; not thread-safe.
 */
public final class ScanCoordinator {
  /** Byte bound of one node's page (values included), besides its record count. */
  public static final int PAGE_BYTES = 4 << 20;

  private final Vertx vertx;
  private final NodeConfig config;
  private final io.distributedsqlite.cluster.CurrentView view;
  private final RecordReader reader;
  private final PeerClient client;
  private final BooleanSupplier ownRecordsWithheld;
  private final PeerView peers;
  private final Counter repairs;

  public ScanCoordinator(Vertx vertx, NodeConfig config, io.distributedsqlite.cluster.CurrentView view, RecordReader reader, PeerClient client, PeerView peers,
      BooleanSupplier ownRecordsWithheld, MeterRegistry registry) {
    this.vertx = vertx;
    this.config = config;
    this.view = view;
    this.reader = reader;
    this.client = client;
    this.ownRecordsWithheld = ownRecordsWithheld;
    this.peers = peers;
    this.repairs = Counter.builder("dsqlite_scan_repairs").description("Replicas sent a newer version by a scan").register(registry);
  }

  public Future<ScanOutcome> scan(ScanRequest req) {
    ScanPlan plan = view.placement().scanPlan();
    int[] nodes = plan.nodesToAsk();
    List<Future<ScanPage>> pages = new ArrayList<>(nodes.length);
    for (int node : nodes) {
      pages.add(page(node, req).recover(t -> Future.succeededFuture(null)));
    }
    return Future.join(pages).map(cf -> decide(plan, req, nodes, pages));
  }

  /** This node's page from its read pool, a peer's over {@code /internal/scan}. */
  private Future<ScanPage> page(int node, ScanRequest req) {
    if (node == config.nodeId()) {
      if (ownRecordsWithheld.getAsBoolean()) {
        return Future.failedFuture("this node's records answer no reads now (stale, checking or rebuilding)");
      }
      return reader.scan(req.range(), req.after(), req.limit(), req.values(), PAGE_BYTES);
    }
    if (!peers.isUp(node)) {
      return Future.failedFuture("peer " + node + " is down");
    }
    return client.scan(node, req.range(), req.after(), req.limit(), req.values());
  }

  private ScanOutcome decide(ScanPlan plan, ScanRequest req, int[] nodes, List<Future<ScanPage>> pages) {
    int required = req.level().required(config.replicationFactor());
    BitSet answered = new BitSet();
    String frontier = null;
    boolean bounded = false;
    for (int i = 0; i < nodes.length; i++) {
      ScanPage p = pages.get(i).result();
      if (p == null) {
        continue;
      }
      answered.set(nodes[i]);
      String through = p.coveredThrough();
      if (through != null && (!bounded || KeyRange.compare(through, frontier) < 0)) {
        frontier = through;
        bounded = true;
      }
    }
    int weakest = plan.weakestRange(answered);
    if (weakest < required) {
      return new ScanOutcome(List.of(), null, req.level(), nodes.length, answered.cardinality(), required, weakest, 0);
    }
    // Per decided key, the copy of each replica that answered.
    TreeMap<String, Map<Integer, Record>> copies = new TreeMap<>(KeyRange.ORDER);
    for (int i = 0; i < nodes.length; i++) {
      ScanPage p = pages.get(i).result();
      if (p == null) {
        continue;
      }
      for (Record r : p.records()) {
        if (bounded && KeyRange.compare(r.key(), frontier) > 0) {
          break;
        }
        if (plan.counts(r.key(), nodes[i])) {
          copies.computeIfAbsent(r.key(), k -> new HashMap<>(4)).put(nodes[i], r);
        }
      }
    }
    long now = config.wallMillis();
    List<Record> items = new ArrayList<>(Math.min(req.limit(), copies.size()));
    List<Map.Entry<String, Map<Integer, Record>>> decided = new ArrayList<>();
    String cursor = bounded ? frontier : null;
    var it = copies.entrySet().iterator();
    while (it.hasNext()) {
      var e = it.next();
      decided.add(e);
      Record newest = newest(e.getValue());
      if (newest != null && !newest.isAbsentAt(now)) {
        items.add(newest);
        if (items.size() == req.limit()) {
          if (it.hasNext() || bounded) {
            cursor = e.getKey();
          }
          break;
        }
      }
    }
    int repaired = repair(plan, decided, answered, req.values());
    return new ScanOutcome(items, cursor, req.level(), nodes.length, answered.cardinality(), required, weakest, repaired);
  }

  private static Record newest(Map<Integer, Record> copies) {
    Record best = null;
    for (Record r : copies.values()) {
      if (r.supersedes(best)) {
        best = r;
      }
    }
    return best;
  }

  /**
   * Sends the newest version of each decided key to its replicas that answered with less. Returns
   * how many copies are being repaired; the sends complete in the background, failures are left
   * to hints and anti-entropy.
   */
  private int repair(ScanPlan plan, List<Map.Entry<String, Map<Integer, Record>>> decided, BitSet answered, boolean values) {
    Map<Integer, List<Record>> sends = new HashMap<>();
    // Without values: per node holding the newest version, the keys to fetch from it, and who needs each.
    Map<Integer, Map<String, List<Integer>>> fetches = new HashMap<>();
    int count = 0;
    for (var e : decided) {
      Record newest = newest(e.getValue());
      for (int replica : plan.replicasOf(e.getKey())) {
        if (!answered.get(replica) || !newest.supersedes(e.getValue().get(replica))) {
          continue;
        }
        count++;
        if (values || newest.tombstone()) {
          sends.computeIfAbsent(replica, n -> new ArrayList<>()).add(newest);
        } else {
          int source = holderOf(e.getValue(), newest);
          fetches.computeIfAbsent(source, n -> new HashMap<>()).computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(replica);
        }
      }
    }
    repairs.increment(count);
    sends.forEach(this::apply);
    fetches.forEach((source, wanted) -> {
      Map<String, Version> versions = new HashMap<>();
      for (var e : decided) {
        if (wanted.containsKey(e.getKey())) {
          versions.put(e.getKey(), newest(e.getValue()).version());
        }
      }
      fetch(source, new ArrayList<>(wanted.keySet())).onSuccess(full -> {
        Map<Integer, List<Record>> out = new HashMap<>();
        for (Record r : full) {
          List<Integer> targets = wanted.get(r.key());
          if (targets != null && r.version().equals(versions.get(r.key()))) {
            targets.forEach(t -> out.computeIfAbsent(t, n -> new ArrayList<>()).add(r));
          }
        }
        out.forEach(this::apply);
      });
    });
    return count;
  }

  private static int holderOf(Map<Integer, Record> copies, Record newest) {
    for (var c : copies.entrySet()) {
      if (c.getValue() == newest) {
        return c.getKey();
      }
    }
    throw new IllegalStateException("the newest copy has no holder");
  }

  private Future<List<Record>> fetch(int node, List<String> keys) {
    return node == config.nodeId() ? reader.records(keys) : client.read(node, keys);
  }

  private void apply(int node, List<Record> records) {
    if (node == config.nodeId()) {
      vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(records));
    } else {
      client.apply(node, records);
    }
  }
}
