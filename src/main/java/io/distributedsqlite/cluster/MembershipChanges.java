package io.distributedsqlite.cluster;

import io.distributedsqlite.cluster.MembershipView.Member;
import io.distributedsqlite.cluster.MembershipView.State;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.Peer;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.wire.RecordPage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Changes of the membership view (README, "Membership"): joining, decommissioning, adopting a
 * newer view, and streaming the ranges a change gives this node.
 *
 * <p>One change at a time, decided by the coordinator: the lowest-ordinal {@code normal} member.
 * It makes each new view (epoch + 1), stores it, and pushes it to every member; a member that
 * missed the push adopts it from the first probe that shows a newer epoch. A change has two
 * views: the first adds the member as {@code joining} (or marks it {@code leaving}); while it
 * holds, requests use joint quorums ({@link ReplicaSet}) and every node that gains ranges streams
 * each gained key from the first majority of its current replicas; when all of them reported, the
 * second view makes the member {@code normal} (or {@code left}).
 *
 * <p>Why a majority of the current replicas, and only once each runs the first view: a write
 * acknowledged under the view before the change sits on a majority of the current replicas, so
 * one source has it; a source takes requests of the older view only for PEER_TIMEOUT after
 * adopting the newer one (while the other members adopt it too), and streams only once none of
 * them is in progress and what they queued is committed ({@code /internal/stream}), so whatever it
 * acknowledged under the older view is in the pages it sends.
 */
public final class MembershipChanges extends VerticleBase {
  /** A probe found a peer with a newer epoch (body: its ordinal): fetch its view. */
  public static final String NEWER_VIEW_ADDRESS = "membership.newer";
  /** A view pushed by the coordinator (body: its JSON); replies this node's epoch after adopting it. */
  public static final String PUSHED_VIEW_ADDRESS = "membership.pushed";
  /** A change asked of the coordinator (body: {op: join|leave|finish, ...}); replies the view after it. */
  public static final String CHANGE_ADDRESS = "membership.change";
  /** Decommission this node: asks the coordinator to mark it leaving; replies {@link #progress()}. */
  public static final String DECOMMISSION_ADDRESS = "membership.decommission";
  /** What /cluster and GET /admin/decommission show: this node's part in the change in progress. */
  public static final String PROGRESS_ADDRESS = "membership.progress";
  /** Header of a failed reply to {@link #CHANGE_ADDRESS} and {@link #DECOMMISSION_ADDRESS}: the JSON error code. */
  public static final String ERROR_HEADER = "error";

  /** Keys a stream page looks at, at most: 4,000 streamed about 1.5 times as fast as 1,000 on a 100k-key join. */
  static final int STREAM_PAGE = 4000;
  private static final Logger log = LoggerFactory.getLogger(MembershipChanges.class);
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setSendTimeout(30_000);

  private final NodeConfig config;
  private final CurrentView currentView;
  private final NodeHealth health;
  private final DigestIndex digests;
  private final MeterRegistry registry;
  private PeerClient client;
  private Counter streamedRecords;

  /** Coordinator: a view being stored and pushed (changes wait), and who reported streaming per epoch. */
  private boolean publishing;
  private final Map<Long, Set<Integer>> streamedBy = new HashMap<>();

  /** This node's streaming for the view of {@code streamEpoch}. */
  private long streamEpoch = -1;
  private boolean streamRunning;
  private boolean streamDone;
  private long streamRecords;
  private int sourcesDone;
  private int sourcesTotal;
  private String streamWaiting;
  private long streamStartedNanos;
  private long streamTookMs;

  /**
   * Whether this process still joins: it was started to join (JOIN, or an ordinal beyond
   * CLUSTER_SIZE) and has not been a member yet. A node that is decommissioned while it runs stays
   * out; started again, it joins again.
   */
  private boolean joining;
  private boolean fresh;
  private boolean joinInFlight;
  private String lastJoinProblem;
  private boolean adopting;
  /** The newest epoch being stored or stored by this verticle. */
  private long storing = -1;

  /**
   * {@code fresh}: the node's database held no view (a new or replaced volume), so the view it
   * starts with is the configuration's: if the cluster's view says it left, it joins again.
   */
  public MembershipChanges(NodeConfig config, CurrentView currentView, NodeHealth health, DigestIndex digests,
      MeterRegistry registry, boolean fresh) {
    this.fresh = fresh;
    this.config = config;
    this.currentView = currentView;
    this.health = health;
    this.digests = digests;
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    client = new PeerClient(vertx, config, currentView);
    streamedRecords = Counter.builder("dsqlite_stream_records")
        .description("Records received by streaming the ranges a membership change gives this node").register(registry);
    Gauge.builder("dsqlite_membership_epoch", currentView, v -> v.view().epoch())
        .description("Epoch of the membership view this node runs with").register(registry);
    vertx.eventBus().<Integer>consumer(NEWER_VIEW_ADDRESS, m -> fetchView(m.body()));
    vertx.eventBus().<JsonObject>consumer(PUSHED_VIEW_ADDRESS, this::pushed);
    vertx.eventBus().<JsonObject>consumer(CHANGE_ADDRESS, this::change);
    vertx.eventBus().<JsonObject>consumer(DECOMMISSION_ADDRESS, this::decommission);
    vertx.eventBus().<JsonObject>consumer(PROGRESS_ADDRESS, m -> m.reply(progress(target(m.body()))));
    joining = config.join();
    afterView(currentView.view());
    vertx.setPeriodic(1000, id -> tick());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    client.close();
    return Future.succeededFuture();
  }

  private int self() {
    return config.nodeId();
  }

  /** Retries whatever is pending: joining, streaming, reporting it, finishing a change. */
  private void tick() {
    MembershipView v = currentView.view();
    Member me = v.member(self());
    if (joining && (me == null || me.state() == State.LEFT)) {
      tryJoin();
      return;
    }
    if (v.changing() != null) {
      if (currentView.placement().gainers().contains(self())) {
        startStreaming(v);
        if (streamDone && streamEpoch == v.epoch()) {
          reportStreamed(v);
        }
      } else if (v.coordinator() == self()) {
        // Nothing to stream here; the change may still wait for the others' reports, or none gains at all.
        finishIfStreamed(v);
      }
    }
  }

  // ---------------------------------------------------------------- adopting views

  /**
   * Stores and runs with {@code next} when it is newer than this node's view and keeps its RF.
   * Succeeds with whether it was adopted.
   */
  private Future<Boolean> adopt(MembershipView next) {
    MembershipView mine = currentView.view();
    if (next.epoch() <= mine.epoch() || next.epoch() <= storing) {
      return Future.succeededFuture(false);
    }
    if (mine.epoch() > 0 && next.replicationFactor() != mine.replicationFactor()) {
      return Future.failedFuture("the view of epoch " + next.epoch() + " has RF=" + next.replicationFactor()
          + " but this node runs RF=" + mine.replicationFactor() + "; a membership change never changes RF");
    }
    storing = next.epoch(); // an older view arriving meanwhile is not stored over it
    return vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.PutMeta(SqliteStore.META_VIEW, next.toJson().encode()), LOCAL)
        .map(stored -> {
          if (currentView.view().epoch() >= next.epoch()) {
            return false;
          }
          Member me = next.member(self());
          if (me != null && me.state() == State.LEFT && fresh) {
            // A new volume for an ordinal that left: it joins again, whatever CLUSTER_SIZE says.
            log.info("the cluster's view (epoch {}) has this node as left and its database is new: joining again", next.epoch());
            joining = true;
          } else if (me != null) {
            fresh = false;
          }
          currentView.set(next);
          log.info("membership view epoch {}: {}", next.epoch(), describe(next));
          reindex();
          afterView(next);
          return true;
        })
        .onFailure(t -> {
          if (storing == next.epoch()) {
            storing = currentView.view().epoch();
          }
        });
  }

  /** The digests follow the new placement: rebuilt on the storage worker between two commits. */
  private void reindex() {
    reindexed = vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Reindex(() -> digests.reset(currentView.placement()),
        r -> digests.changed(null, r)), LOCAL).onFailure(t -> log.warn("could not rebuild the digest index: {}", t.getMessage()));
  }

  /** The last rebuild of the digest index (it also counts the records this node no longer replicates). */
  private Future<?> reindexed = Future.succeededFuture();

  private static String describe(MembershipView v) {
    StringBuilder sb = new StringBuilder();
    for (Member m : v.members()) {
      sb.append(sb.length() == 0 ? "" : ", ").append(m.ordinal()).append('=').append(m.state().wireName());
    }
    return sb.toString();
  }

  /** What this node is now, for /ready; and streaming, when the view gives it ranges. */
  private void afterView(MembershipView v) {
    Member me = v.member(self());
    if (me != null && me.state() != State.LEFT) {
      joining = false;
    }
    if (me == null) {
      health.membership(joining ? "joining: not yet a member of the cluster's view" : "not a member of the cluster's view (epoch "
          + v.epoch() + ")");
    } else {
      switch (me.state()) {
        case JOINING -> health.membership("joining: streaming the ranges this node will own");
        case LEAVING -> health.membership("leaving: its ranges are being streamed to the nodes that take them over");
        case LEFT -> health.membership("left the cluster at epoch " + v.epoch() + ": it owns no data and may be stopped");
        case NORMAL -> health.membership(null);
      }
      if (me.state() == State.LEFT) {
        log.info("this node left the cluster (epoch {}); cleanup removes its records, and it may be stopped", v.epoch());
      }
    }
    if (v.changing() != null && currentView.placement().gainers().contains(self())) {
      startStreaming(v);
    }
    if (v.changing() == null && changeSeen) {
      // A change ended: remove the records of the ranges that moved away, in the background.
      changeSeen = false;
      reindexed.onComplete(x -> vertx.setTimer(CLEANUP_DELAY_MS, id -> vertx.eventBus().<JsonObject>request(StrayCleanup.CLEANUP_ADDRESS, null,
              new DeliveryOptions().setSendTimeout(24 * 3600_000L))
          .onSuccess(m -> log.info("cleanup after the change to view epoch {} removed {} records this node no longer replicates",
              v.epoch(), m.body().getValue("removed")))
          .onFailure(t -> log.warn("cleanup after the change to view epoch {} failed: {}", v.epoch(), t.getMessage()))));
    }
    changeSeen |= v.changing() != null;
  }

  /** A change was in progress in a view this node ran with; its end starts a cleanup. */
  private boolean changeSeen;
  /** How long after a change ended (and the digest index followed) the cleanup starts: the other nodes adopt the last view meanwhile. */
  static final long CLEANUP_DELAY_MS = 5000;

  private void fetchView(int peer) {
    if (adopting) {
      return;
    }
    adopting = true;
    client.call(HttpMethod.GET, peer, "/internal/view", null)
        .compose(body -> adopt(MembershipView.fromJson(body.toString())))
        .onComplete(ar -> {
          adopting = false;
          if (ar.failed()) {
            log.warn("could not adopt the newer membership view of peer {}: {}", peer, ar.cause().getMessage());
          }
        });
  }

  private void pushed(Message<JsonObject> m) {
    MembershipView next;
    try {
      next = MembershipView.fromJson(m.body().encode());
    } catch (IllegalArgumentException e) {
      fail(m, 400, "invalid_view", e.getMessage());
      return;
    }
    adopt(next).onSuccess(adopted -> m.reply(new JsonObject().put("epoch", currentView.view().epoch())))
        .onFailure(t -> fail(m, 409, "view_mismatch", t.getMessage()));
  }

  // ---------------------------------------------------------------- coordinator

  private void change(Message<JsonObject> m) {
    MembershipView v = currentView.view();
    JsonObject req = m.body();
    String op = req.getString("op", "");
    Integer id = req.getInteger("id");
    if (id == null || id < 0 || id > NodeConfig.MAX_ORDINAL) {
      fail(m, 400, "invalid_request", "a membership change needs the node's ordinal as \"id\" (0.." + NodeConfig.MAX_ORDINAL + ")");
      return;
    }
    if (v.epoch() == 0 || v.coordinator() != self()) {
      fail(m, 409, "not_coordinator", "membership changes are decided by node " + (v.epoch() == 0 ? "?" : v.coordinator())
          + ", the lowest-ordinal normal member of view epoch " + v.epoch());
      return;
    }
    if (publishing) {
      fail(m, 409, "membership_change_in_progress", "the view of epoch " + (v.epoch() + 1) + " is being published; try again");
      return;
    }
    Member existing = v.member(id);
    Member changing = v.changing();
    switch (op) {
      case "join" -> {
        if (existing != null && (existing.state() == State.NORMAL || existing.state() == State.JOINING)) {
          m.reply(v.toJson());
          return;
        }
        if (changing != null) {
          fail(m, 409, "membership_change_in_progress", "node " + changing.ordinal() + " is " + changing.state().wireName()
              + "; one change at a time, try again when it finished");
          return;
        }
        String name = req.getString("name");
        String address = req.getString("address");
        if (name == null || address == null || address.lastIndexOf(':') <= 0) {
          fail(m, 400, "invalid_request", "joining needs the node's \"name\" and \"address\" (host:port)");
          return;
        }
        publish(m, v.with(new Member(id, name, address, State.JOINING)));
      }
      case "leave" -> {
        if (existing == null || existing.state() == State.LEFT || existing.state() == State.LEAVING) {
          m.reply(v.toJson());
          return;
        }
        if (existing.state() == State.JOINING) {
          // Abandoning a join (the node is gone, or should not join): the next ring becomes the
          // current one again, whose replicas hold every key; nothing moves.
          log.info("node {} leaves while it was joining: the join is abandoned", id);
          publish(m, v.with(new Member(id, existing.name(), existing.address(), State.LEFT)));
          return;
        }
        if (changing != null) {
          fail(m, 409, "membership_change_in_progress", "node " + changing.ordinal() + " is " + changing.state().wireName()
              + "; one change at a time, try again when it finished");
          return;
        }
        long normal = v.members().stream().filter(x -> x.state() == State.NORMAL).count();
        if (normal - 1 < v.replicationFactor()) {
          fail(m, 409, "too_few_members", "decommissioning node " + id + " would leave " + (normal - 1)
              + " normal members, fewer than RF=" + v.replicationFactor());
          return;
        }
        publish(m, v.with(new Member(id, existing.name(), existing.address(), State.LEAVING)));
      }
      case "finish" -> {
        long epoch = req.getLong("epoch", -1L);
        if (changing == null || epoch != v.epoch()) {
          m.reply(v.toJson());
          return;
        }
        streamedBy.computeIfAbsent(epoch, e -> new TreeSet<>()).add(id);
        if (!finishIfStreamed(v)) {
          m.reply(v.toJson());
        } else {
          m.reply(v.toJson().put("finishing", true));
        }
      }
      default -> fail(m, 400, "invalid_request", "unknown membership change \"" + op + "\" (join, leave, finish)");
    }
  }

  /** Ends the change in progress once every node that gains ranges streamed them; returns whether it does. */
  private boolean finishIfStreamed(MembershipView v) {
    Member changing = v.changing();
    if (changing == null || publishing || v.coordinator() != self()) {
      return false;
    }
    Set<Integer> reported = streamedBy.getOrDefault(v.epoch(), Set.of());
    Set<Integer> gainers = currentView.placement().gainers();
    if (!reported.containsAll(gainers)) {
      return false;
    }
    State after = changing.state() == State.JOINING ? State.NORMAL : State.LEFT;
    log.info("every node that gains ranges from node {} {} streamed them ({}): node {} is now {}", changing.ordinal(),
        changing.state().wireName(), gainers, changing.ordinal(), after.wireName());
    publish(null, v.with(new Member(changing.ordinal(), changing.name(), changing.address(), after)));
    streamedBy.keySet().removeIf(e -> e <= v.epoch());
    return true;
  }

  /**
   * Stores {@code next} here, replies it (when {@code m} is given: the asking node adopts it from
   * the answer), and pushes it to every other member; members the push misses adopt it from
   * their next probe of a node that has it. Further changes wait until the pushes are done.
   */
  private void publish(Message<JsonObject> m, MembershipView next) {
    publishing = true;
    adopt(next).onComplete(stored -> {
      if (m != null) {
        if (stored.succeeded()) {
          m.reply(currentView.view().toJson());
        } else {
          fail(m, 500, "internal", "could not store the view of epoch " + next.epoch() + ": " + stored.cause().getMessage());
        }
      }
    }).compose(adopted -> {
      List<Future<?>> pushes = new ArrayList<>();
      for (Member member : next.members()) {
        if (member.ordinal() != self()) {
          int id = member.ordinal();
          pushes.add(client.call(HttpMethod.POST, id, "/internal/view", next.toJson().toBuffer())
              .onFailure(t -> log.info("could not push the view of epoch {} to node {} ({}); it adopts it from a probe",
                  next.epoch(), id, t.getMessage())));
        }
      }
      return Future.join(pushes).otherwiseEmpty();
    }).onComplete(ar -> publishing = false);
  }

  /** Fails {@code m} with the HTTP status and the text {@code "<code>: <message>"} the routes answer with. */
  private static void fail(Message<?> m, int status, String code, String message) {
    m.fail(status, code + ": " + message);
  }

  // ---------------------------------------------------------------- joining and leaving

  /** Finds the cluster's view through the configured peers, then asks its coordinator to add this node. */
  private void tryJoin() {
    if (joinInFlight) {
      return;
    }
    joinInFlight = true;
    newestView().compose(v -> {
      if (v == null) {
        return Future.failedFuture("no member of the cluster answered GET /internal/view yet");
      }
      return adopt(v).map(x -> currentView.view());
    }).compose(v -> {
      Member me = v.member(self());
      if (me != null && me.state() != State.LEFT) {
        return Future.succeededFuture();
      }
      Peer mine = config.self();
      JsonObject req = new JsonObject().put("op", "join").put("id", self()).put("name", config.nodeName())
          .put("address", mine.address());
      int coordinator = v.coordinator();
      return client.exchange(HttpMethod.POST, coordinator, "/internal/membership", req.toBuffer()).compose(res -> {
        if (res.statusCode() != 200) {
          return Future.failedFuture("node " + coordinator + " answered " + res.statusCode() + ": " + res.bodyAsString());
        }
        log.info("node {} added this node to the membership view as joining", coordinator);
        return adopt(MembershipView.fromJson(res.bodyAsString())).mapEmpty();
      });
    }).onComplete(ar -> {
      joinInFlight = false;
      if (ar.failed()) {
        String why = String.valueOf(ar.cause().getMessage());
        if (!why.equals(lastJoinProblem)) {
          lastJoinProblem = why;
          log.info("joining the cluster, retried every second: {}", why);
        }
      }
    });
  }

  /** The newest view any reachable peer (configured, or in this node's view) answers with; null when none answered. */
  private Future<MembershipView> newestView() {
    Set<Integer> ids = new TreeSet<>();
    config.peers().forEach(p -> ids.add(p.id()));
    currentView.view().members().forEach(mm -> ids.add(mm.ordinal()));
    ids.remove(self());
    List<Future<MembershipView>> asks = new ArrayList<>();
    for (int id : ids) {
      asks.add(client.call(HttpMethod.GET, id, "/internal/view", null).map(b -> MembershipView.fromJson(b.toString()))
          .otherwise(t -> null));
    }
    return Future.join(asks).otherwiseEmpty().map(x -> {
      MembershipView best = null;
      for (Future<MembershipView> f : asks) {
        MembershipView v = f.result();
        if (v != null && (best == null || v.epoch() > best.epoch())) {
          best = v;
        }
      }
      return best;
    });
  }

  /** The node a request names ({@code {"node": n}}), else this one. */
  private int target(JsonObject body) {
    Integer node = body == null ? null : body.getInteger("node");
    return node == null ? self() : node;
  }

  /**
   * Asks the coordinator to mark a node leaving (this one, or the one the body names; a joining
   * node's join is abandoned instead); replies its progress, or fails with the coordinator's
   * refusal.
   */
  private void decommission(Message<JsonObject> m) {
    MembershipView v = currentView.view();
    int target = target(m.body());
    Member me = v.member(target);
    if (me == null) {
      fail(m, 409, "not_a_member", "node " + target + " is not a member of the cluster's view (epoch " + v.epoch() + ")");
      return;
    }
    if (me.state() == State.LEAVING || me.state() == State.LEFT) {
      m.reply(progress(target));
      return;
    }
    JsonObject req = new JsonObject().put("op", "leave").put("id", target);
    int coordinator = v.coordinator();
    Future<JsonObject> asked = coordinator == self()
        ? vertx.eventBus().<JsonObject>request(CHANGE_ADDRESS, req).map(Message::body)
        : client.exchange(HttpMethod.POST, coordinator, "/internal/membership", req.toBuffer()).compose(res -> res.statusCode() == 200
            ? Future.succeededFuture(res.bodyAsJsonObject())
            : Future.failedFuture(new io.vertx.core.eventbus.ReplyException(io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE,
                res.statusCode(), errorText(res.bodyAsString()))));
    asked.compose(view -> adopt(MembershipView.fromJson(view.encode())))
        .onSuccess(x -> m.reply(progress(target)))
        .onFailure(t -> {
          int status = t instanceof io.vertx.core.eventbus.ReplyException re ? re.failureCode() : 503;
          String text = String.valueOf(t.getMessage());
          m.fail(status, text.contains(": ") ? text : "unavailable: " + text);
        });
  }

  private static String errorText(String body) {
    try {
      JsonObject o = new JsonObject(body);
      return o.getString("error", "error") + ": " + o.getString("message", "");
    } catch (RuntimeException e) {
      return body;
    }
  }

  // ---------------------------------------------------------------- streaming

  /** Streams the ranges the change of view {@code v} gives this node, once per view. */
  private void startStreaming(MembershipView v) {
    if (streamRunning || streamEpoch == v.epoch()) {
      return;
    }
    Placement placement = currentView.placement();
    List<Integer> sources = new ArrayList<>();
    for (int n : placement.current().nodes()) {
      if (n != self()) {
        sources.add(n);
      }
    }
    streamEpoch = v.epoch();
    streamRunning = true;
    streamDone = false;
    streamRecords = 0;
    sourcesDone = 0;
    sourcesTotal = sources.size();
    streamStartedNanos = System.nanoTime();
    log.info("streaming the ranges view epoch {} gives this node from {} ({} records/s at most)", v.epoch(), sources,
        config.streamRate());
    // Every source at once, each paced to its share of STREAM_RATE.
    long perSource = Math.max(1, config.streamRate() / Math.max(1, sources.size()));
    List<Future<Void>> streams = new ArrayList<>();
    for (int source : sources) {
      streams.add(streamFrom(source, null, v.epoch(), perSource).onSuccess(y -> sourcesDone++));
    }
    Future.all(streams).<Void>mapEmpty().onComplete(ar -> {
      streamRunning = false;
      streamWaiting = null;
      if (ar.failed()) {
        log.info("streaming for view epoch {} stopped: {}", v.epoch(), ar.cause().getMessage());
        if (currentView.view().epoch() == v.epoch()) {
          streamEpoch = -1; // started again by the next tick
        }
        return;
      }
      streamDone = true;
      streamTookMs = (System.nanoTime() - streamStartedNanos) / 1_000_000;
      log.info("streamed {} records from {} nodes in {} ms for view epoch {}", streamRecords, sourcesTotal, streamTookMs, v.epoch());
      Member me = v.member(self());
      if (me != null && me.state() == State.JOINING && health.finishRebuild()) {
        vertx.eventBus().request(StorageVerticle.ADDRESS,
            new StorageCommand.PutMeta(SqliteStore.META_REBUILT, Long.toString(config.wallMillis())), LOCAL);
      }
      reportStreamed(v);
    });
  }

  /** One source's records of the ranges this node gains, page by page, paced to STREAM_RATE; retried while the view holds. */
  private Future<Void> streamFrom(int source, String after, long epoch, long rate) {
    if (currentView.view().epoch() != epoch) {
      return Future.failedFuture("the view changed");
    }
    // A page holds at most about a second of the pace, so a low STREAM_RATE binds on a small table too.
    int limit = (int) Math.max(100, Math.min(STREAM_PAGE, rate));
    JsonObject body = new JsonObject().put("for", self()).put("after", after).put("limit", limit);
    long started = System.nanoTime();
    return client.page(HttpMethod.POST, source, "/internal/stream", body.toBuffer())
        .compose(page -> store(page).map(page))
        .compose(page -> {
          streamWaiting = null;
          if (page.next() == null) {
            return Future.<Void>succeededFuture();
          }
          long due = page.records().size() * 1000L / rate - (System.nanoTime() - started) / 1_000_000;
          return pause(due).compose(x -> streamFrom(source, page.next().key(), epoch, rate));
        }, t -> {
          // The source may not run this view yet, may still be settling, or be down: the change waits for it.
          String why = "waiting for node " + source + ": " + t.getMessage();
          if (!why.equals(streamWaiting)) {
            log.info("streaming {}", why);
          }
          streamWaiting = why;
          return pause(1000).compose(x -> streamFrom(source, after, epoch, rate));
        });
  }

  private Future<Void> store(RecordPage page) {
    if (page.records().isEmpty()) {
      return Future.succeededFuture();
    }
    List<Record> records = page.records();
    return vertx.eventBus().<io.distributedsqlite.storage.ApplyResult>request(StorageVerticle.ADDRESS, new StorageCommand.Apply(records),
        LOCAL).compose(reply -> {
          int refused = reply.body().count(io.distributedsqlite.storage.ApplyResult.Kind.REFUSED_FUTURE);
          if (refused > 0) {
            // This node's clock is behind the records: the page is asked again until it caught up.
            return Future.failedFuture(refused + " records of the page are stamped beyond this node's future cap (its clock is behind)");
          }
          streamRecords += records.size();
          streamedRecords.increment(records.size());
          return Future.<Void>succeededFuture();
        });
  }

  private Future<Void> pause(long ms) {
    if (ms < 1) {
      return Future.succeededFuture();
    }
    Promise<Void> p = Promise.promise();
    vertx.setTimer(ms, id -> p.complete());
    return p.future();
  }

  /** Tells the coordinator this node streamed what view {@code v} gives it; repeated by the tick until the change ends. */
  private void reportStreamed(MembershipView v) {
    JsonObject req = new JsonObject().put("op", "finish").put("id", self()).put("epoch", v.epoch());
    int coordinator = v.coordinator();
    Future<JsonObject> answer = coordinator == self()
        ? vertx.eventBus().<JsonObject>request(CHANGE_ADDRESS, req).map(Message::body)
        : client.exchange(HttpMethod.POST, coordinator, "/internal/membership", req.toBuffer())
            .compose(res -> res.statusCode() == 200 ? Future.succeededFuture(res.bodyAsJsonObject())
                : Future.failedFuture("node " + coordinator + " answered " + res.statusCode()));
    answer.compose(view -> adopt(MembershipView.fromJson(view.encode())))
        .onFailure(t -> log.debug("reporting the streaming of epoch {}: {}", v.epoch(), t.getMessage()));
  }

  /**
   * A node's part in the membership as this node sees it: its state, the change in progress, and
   * this node's streaming.
   */
  JsonObject progress(int node) {
    MembershipView v = currentView.view();
    Member me = v.member(node);
    Member changing = v.changing();
    JsonObject streaming = streamEpoch < 0 ? null : new JsonObject()
        .put("epoch", streamEpoch)
        .put("records", streamRecords)
        .put("sources", sourcesTotal)
        .put("sources_done", sourcesDone)
        .put("done", streamDone)
        .put("took_ms", streamDone ? streamTookMs : null)
        .put("waiting", streamWaiting);
    return new JsonObject()
        .put("node_id", node == self() ? config.nodeName() : me == null ? Integer.toString(node) : me.name())
        .put("state", me == null ? "none" : me.state().wireName())
        .put("epoch", v.epoch())
        .put("change", changing == null ? null : new JsonObject().put("kind", changing.state() == State.JOINING ? "join" : "leave")
            .put("node", changing.ordinal()).put("epoch", v.epoch()).put("gainers", new io.vertx.core.json.JsonArray(
                new ArrayList<>(currentView.placement().gainers()))))
        .put("streaming", streaming);
  }
}
