package io.distributedsqlite;

import io.distributedsqlite.cluster.AntiEntropyVerticle;
import io.distributedsqlite.cluster.ClockOffsets;
import io.distributedsqlite.cluster.CurrentView;
import io.distributedsqlite.cluster.MembershipView;
import io.distributedsqlite.cluster.DigestIndex;
import io.distributedsqlite.cluster.HorizonPurger;
import io.distributedsqlite.cluster.InTouchRule;
import io.distributedsqlite.cluster.MembershipVerticle;
import io.distributedsqlite.cluster.PeerStatus;
import io.distributedsqlite.cluster.MembershipChanges;
import io.distributedsqlite.cluster.StrayCleanup;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.http.HttpVerticle;
import io.distributedsqlite.cluster.NodeHealth;
import io.distributedsqlite.http.NodeServices;
import io.distributedsqlite.storage.Backups;
import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.storage.HybridLogicalClock;
import io.distributedsqlite.storage.RecordCache;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.Version;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node: opens the database, deploys the verticles in dependency order (storage first, HTTP
 * last) and undeploys them in reverse on {@link #stop()}, so shutdown stops accepting, finishes
 * in-flight requests, commits queued writes and closes SQLite. Several nodes can run in one JVM,
 * each on its own {@link Vertx} (the event bus addresses are per Vert.x instance).
 */
public final class Node {
  private static final Logger log = LoggerFactory.getLogger(Node.class);

  private final Vertx vertx;
  private final NodeConfig config;
  private final NodeHealth health = new NodeHealth();
  private final List<String> deployments = new ArrayList<>();
  private RecordReader reader;
  private CurrentView currentView;
  private DigestIndex digests;
  /** The database held no membership view: the first view came from the configuration. */
  private boolean freshView;
  private NodeServices services;
  private AutoCloseable processMetrics;
  private int actualPort;

  private Node(Vertx vertx, NodeConfig config) {
    this.vertx = vertx;
    this.config = config;
  }

  public static Future<Node> start(Vertx vertx, NodeConfig config) {
    Node node = new Node(vertx, config);
    return node.deploy().map(v -> node);
  }

  public NodeConfig config() {
    return config;
  }

  public Vertx vertx() {
    return vertx;
  }

  /** What each HTTP verticle instance is handed; set once the node started. Tests build coordinators on it. */
  public NodeServices services() {
    return services;
  }

  /** Readiness and the replica's standing (normal, rebuilding, checking, stale). */
  public NodeHealth health() {
    return health;
  }

  private Future<Void> deploy() {
    registerCodecs(vertx);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("node", Integer.toString(config.nodeId()));
    processMetrics = ProcessMetrics.bind(registry, config.dataDir());
    ProcessMetrics.bindBuildInfo(registry, Integer.toString(config.nodeId()));
    RecordCache cache = new RecordCache(config.readCacheBytes());
    registerCacheMetrics(registry, cache);
    StartupProgress progress = StartupProgress.start(vertx, java.time.Duration.ofSeconds(5));
    return vertx.executeBlocking(() -> {
      if (config.restoreFrom().isPresent()) {
        progress.step("restoring " + config.dataDir() + " from " + config.restoreFrom().get() + " if it is empty");
      }
      if (config.restoreFrom().isPresent() && Backups.restoreIfEmpty(config.restoreFrom().get(), config.dataDir())) {
        log.info("restored {} from the snapshot {}; anti-entropy brings it up to date", config.dataDir(), config.restoreFrom().get());
      }
      progress.step("opening and checking (quick_check) " + config.dataDir().resolve(SqliteStore.FILE_NAME));
      SqliteStore store = SqliteStore.open(config.dataDir(), config.sqliteSynchronous(), config.sqliteMaxDbBytes(),
          config.sqliteCacheKib());
      HybridLogicalClock clock = new HybridLogicalClock(config.nodeId(), store.highWater(), config::wallMillis, config.futureCapMillis());
      if (clock.aheadOfWallMillis() > clock.futureCapMillis()) {
        log.error("the persisted clock high-water mark is {} ahead of this node's wall clock: it once ran ahead. Not ready and "
            + "refusing to coordinate writes until the wall clock catches up (stamps never go backwards, and peers refuse "
            + "stamps that far ahead); it still serves reads and replicates. If the wall clock is right now, see README "
            + "\"Clocks\"", java.time.Duration.ofMillis(clock.aheadOfWallMillis()));
      }
      currentView = new CurrentView(loadView(store), config);
      digests = new DigestIndex(config.nodeId(), currentView.placement());
      progress.step("rebuilding the digest index", store.recordCount());
      store.forEachVersion(r -> {
        digests.changed(null, r);
        progress.record();
      });
      decideStanding(store);
      reader = RecordReader.open(vertx, config.dataDir(), config.readPoolSize(), cache, config.sqliteCacheKib());
      return new Opened(store, clock);
    }).compose(opened -> {
      StorageVerticle storage = new StorageVerticle(opened.store(), opened.clock(), config.writeBatchMax(),
          config.writeQueueMax(), config.hintMaxPerPeer(), (previous, current) -> {
            digests.changed(previous, current);
            cache.changed(previous, current);
          }, registry, health::storageFailing);
      ClockOffsets offsets = new ClockOffsets(config.nodeId(), Math.max(1, currentView.view().activeMembers()),
          config.maxClockOffset().toMillis(), opened.clock(), health::clockProblem);
      services = new NodeServices(config, registry, reader, health, digests, opened.clock(), offsets, currentView);
      return deploy(storage, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER))
          .compose(v -> deploy(new MembershipVerticle(config, reader, registry, health, offsets, currentView), new DeploymentOptions()))
          .compose(v -> deploy(new MembershipChanges(config, currentView, health, digests, registry, freshView), new DeploymentOptions()))
          .compose(v -> deploy(new AntiEntropyVerticle(config, digests, reader, registry, health, currentView), new DeploymentOptions()))
          .compose(v -> deploy(new StrayCleanup(config, digests, reader, registry), new DeploymentOptions()))
          .compose(v -> deploy(new HorizonPurger(config, health, registry), new DeploymentOptions()))
          .compose(v -> deployMany(() -> new HttpVerticle(services)));
    }).andThen(ar -> progress.finish()).onSuccess(v -> {
      health.markStarted();
      log.info("node {} of {} (RF={}, membership epoch {}) serving on {}:{}, data in {}", config.nodeId(),
          currentView.view().activeMembers(), config.replicationFactor(), currentView.view().epoch(), config.host(), config.port(),
          config.dataDir().toAbsolutePath());
    });
  }

  private record Opened(SqliteStore store, HybridLogicalClock clock) {}

  /**
   * The replica's standing at start-up (README, "Stale replicas"): stale if it was found so
   * before; rebuilding on a new or wiped database; checking with its peers when it was last in
   * touch with the cluster longer than TOMBSTONE_GRACE ago; else normal. A single node has no
   * peers to miss deletes from or rebuild from: always normal.
   */
  private void decideStanding(SqliteStore store) throws java.sql.SQLException {
    long now = config.wallMillis();
    InTouchRule.Stretches inTouch = InTouchRule.Stretches.parse(store.inTouch());
    String staleReason = store.staleReason();
    health.inTouch(inTouch);
    health.purgedUpTo(new Version(store.purgedUpTo(), 0).millis());
    if (currentView.view().activeMembers() == 1 && !config.join()) {
      return;
    }
    if (staleReason != null) {
      health.standing(NodeHealth.Standing.STALE, staleReason);
      log.error("this node is a stale replica and serves nothing: {}", staleReason);
    } else if (!store.rebuilt()) {
      health.standing(NodeHealth.Standing.REBUILDING, NodeHealth.REBUILDING_REASON);
      log.info("empty database: rebuilding from the peers before answering reads");
    } else if (inTouch.until() > 0 && now - inTouch.until() > config.tombstoneGrace().toMillis()) {
      health.check(MembershipVerticle.checkingReason(config, inTouch.until()));
      log.warn("last in touch with the cluster {} ago, longer than TOMBSTONE_GRACE={}: asking the peers whether it is stale",
          java.time.Duration.ofMillis(now - inTouch.until()), config.tombstoneGrace());
    }
  }

  /**
   * The membership view to run with (README, "Membership"). A new database stores the view the
   * configuration forms. A stored view that agrees with the configuration is kept (its epoch and
   * states), with the configured addresses. One that contradicts it (another RF, other members) is
   * left stored and reported: the node runs with the configuration's view, because the ring and
   * the peers' addresses come from it, but is not ready, and the probes keep it apart from peers
   * whose view differs. The membership verticle stores the configured view once a majority of the
   * cluster runs with it (every node was restarted with the new settings on purpose).
   */
  private MembershipView loadView(SqliteStore store) throws java.sql.SQLException {
    MembershipView configured = MembershipView.initial(config);
    String stored = store.meta(SqliteStore.META_VIEW);
    if (config.join()) {
      return joiningView(store, configured, stored);
    }
    if (stored == null) {
      freshView = true;
      store.putMeta(SqliteStore.META_VIEW, configured.toJson().encode());
      store.commit();
      return configured;
    }
    String problem;
    try {
      MembershipView persisted = MembershipView.fromJson(stored);
      problem = persisted.contradiction(configured);
      if (problem == null) {
        MembershipView running = persisted.withNamesAndAddressesOf(configured);
        if (!running.equals(persisted)) {
          store.putMeta(SqliteStore.META_VIEW, running.toJson().encode());
          store.commit();
        }
        return running;
      }
    } catch (IllegalArgumentException e) {
      problem = "the membership view stored in node.db is " + e.getMessage();
    }
    problem += "; running with the configuration's view, not ready, and not coordinating with peers whose view differs, "
        + "until a majority of the cluster runs with the same settings (then it is stored) or this node is restarted "
        + "with the settings it had";
    health.viewProblem(problem);
    log.error(problem);
    return configured;
  }

  /**
   * The view a node started to join runs with. A node that is a member already (it joined before,
   * or is still joining) runs with its stored view. Otherwise it runs with a provisional view of
   * epoch 0 (the configured members but itself), which any member's view supersedes, until it
   * found the cluster's view and was added to it. A node that had left the cluster drops its
   * records first: they are no one's replicas any longer, and it joins as a new replica.
   */
  private MembershipView joiningView(SqliteStore store, MembershipView configured, String stored) throws java.sql.SQLException {
    MembershipView persisted = null;
    try {
      persisted = stored == null ? null : MembershipView.fromJson(stored);
    } catch (IllegalArgumentException e) {
      log.warn("ignoring the unreadable membership view stored in node.db: {}", e.getMessage());
    }
    MembershipView.State mine = persisted == null ? null : persisted.stateOf(config.nodeId());
    if (mine != null && mine != MembershipView.State.LEFT && persisted.replicationFactor() == config.replicationFactor()) {
      return persisted.withNamesAndAddressesOf(configured);
    }
    if (mine == MembershipView.State.LEFT) {
      log.info("this node left the cluster at epoch {}: removing its {} records and its standing before joining again as a new "
          + "replica", persisted.epoch(), store.recordCount());
      store.deleteAllRecords();
    }
    java.util.List<MembershipView.Member> others = new ArrayList<>(configured.members());
    others.removeIf(m -> m.ordinal() == config.nodeId());
    return new MembershipView(0, config.replicationFactor(), others);
  }

  private Future<Void> deploy(io.vertx.core.Deployable verticle, DeploymentOptions options) {
    return vertx.deployVerticle(verticle, options).onSuccess(deployments::add).mapEmpty();
  }

  private Future<Void> deployMany(java.util.function.Supplier<io.vertx.core.Deployable> factory) {
    return vertx.deployVerticle(factory::get, new DeploymentOptions().setInstances(config.httpInstances()))
        .onSuccess(deployments::add).mapEmpty();
  }

  /** Graceful stop: not ready, stop accepting and drain HTTP (and its coordinators), then storage. */
  public Future<Void> stop() {
    health.markDraining();
    List<String> reversed = new ArrayList<>(deployments);
    Collections.reverse(reversed);
    Future<Void> chain = Future.succeededFuture();
    for (String id : reversed) {
      chain = chain.compose(v -> vertx.undeploy(id).recover(t -> {
        log.warn("undeploying {} failed: {}", id, t.getMessage());
        return Future.succeededFuture();
      }));
    }
    return chain.andThen(ar -> {
      deployments.clear();
      if (reader != null) {
        reader.close();
      }
      if (processMetrics != null) {
        try {
          processMetrics.close();
        } catch (Exception e) {
          log.debug("closing process metrics: {}", e.getMessage());
        }
      }
    });
  }

  private static void registerCacheMetrics(io.micrometer.core.instrument.MeterRegistry registry, RecordCache cache) {
    io.micrometer.core.instrument.FunctionCounter.builder("dsqlite_read_cache_hits", cache, RecordCache::hits)
        .description("Point reads answered from the record cache").register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder("dsqlite_read_cache_misses", cache, RecordCache::misses)
        .description("Point reads that went to a read connection").register(registry);
    io.micrometer.core.instrument.Gauge.builder("dsqlite_read_cache_bytes", cache, RecordCache::bytes)
        .description("Approximate bytes held by the record cache (READ_CACHE_BYTES caps it)").register(registry);
  }

  static void registerCodecs(Vertx vertx) {
    for (Class<?> type : List.of(PeerStatus.class, ApplyResult.class, StorageCommand.Apply.class, StorageCommand.StoreHints.class,
        StorageCommand.DeleteHints.class, StorageCommand.DropOldHints.class, StorageCommand.PurgeTombstones.class,
        StorageCommand.PurgeExpired.class, StorageCommand.DropStrays.class, StorageCommand.PutMeta.class, StorageCommand.Reindex.class,
        StorageCommand.Barrier.class)) {
      LocalCodec.register(vertx, type);
    }
  }
}
