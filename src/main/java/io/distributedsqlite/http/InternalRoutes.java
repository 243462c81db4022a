package io.distributedsqlite.http;

import io.distributedsqlite.wire.RecordJson;
import io.distributedsqlite.wire.RecordFields;
import io.distributedsqlite.wire.Json;
import io.distributedsqlite.wire.BadRequest;
import io.distributedsqlite.wire.ApplyAnswer;
import io.distributedsqlite.cluster.NodeHealth;

import io.distributedsqlite.cluster.AntiEntropyVerticle;
import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.storage.BucketPosition;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.KeyHash;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import io.distributedsqlite.replication.WriteRequest;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.Version;
import io.distributedsqlite.storage.WriteRefused;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * {@code /internal/*}: replica-to-replica traffic. Versioned records are applied locally with the
 * merge rule, so retries and reordering are harmless. Versionless {@code /internal/set} and
 * {@code /internal/delete} are the original tools' legacy form: coordinated like client writes
 * (they reach the key's replicas) and also kept on this node, as the original does, so a read-back
 * with {@code /internal/get} from the same node sees them. On a node that does not replicate the
 * key that copy is a stray: {@code /internal/get} shows it, but it is never served to repair
 * ({@code /internal/buckets}, {@code /internal/records}) or quorum reads ({@code /internal/read}),
 * and {@code StrayCleanup} removes it after STRAY_GRACE. With CLUSTER_TOKEN set, every request
 * must carry it in {@code X-Cluster-Token}.
 */
final class InternalRoutes {
  static final String TOKEN_HEADER = "X-Cluster-Token";
  /** Most records one page of a bucket listing holds. */
  static final int LISTING_MAX = 10_000;

  private final Vertx vertx;
  private final NodeServices services;
  private final ClientRoutes client;
  private final byte[] token;
  private final boolean peerMtls;
  private final int bodyLimit;
  private final String nodeIdField;

  InternalRoutes(Vertx vertx, NodeServices services, ClientRoutes client) {
    this.vertx = vertx;
    this.services = services;
    this.client = client;
    this.token = services.config().clusterToken().map(t -> t.getBytes(StandardCharsets.UTF_8)).orElse(null);
    this.peerMtls = services.config().tls().map(t -> t.peerMtls()).orElse(false);
    this.nodeIdField = Json.nodeIdField(services.config().nodeName());
    // Senders keep their batches within PeerLimits (one record alone when it is larger).
    this.bodyLimit = PeerLimits.bodyLimit(services.config().maxValueBytes());
  }

  void mount(Router router) {
    router.route("/internal/*").handler(this::authenticate);
    router.get("/internal/ping").handler(this::ping);
    router.get(ReplicaGate.STATUS_PATH).handler(this::status);
    router.get("/internal/get").handler(this::get);
    router.post("/internal/set").handler(this::set);
    router.delete("/internal/delete").handler(this::delete);
    router.post("/internal/apply").handler(this::apply);
    router.get("/internal/digests").handler(this::digests);
    router.get("/internal/buckets").handler(this::bucket);
    router.post("/internal/records").handler(this::records);
    router.post("/internal/read").handler(this::read);
  }

  /**
   * The failure detector's probe. The answer carries this node's wall clock ({@code "clock"},
   * epoch milliseconds) so the prober can estimate the offset between the two clocks.
   */
  private void ping(RoutingContext ctx) {
    Responses.json(ctx, 200, "{" + nodeIdField + ",\"clock\":" + services.config().wallMillis() + "}");
  }

  /** Anti-entropy: this node's digests of the records it shares with the asking peer. */
  private void digests(RoutingContext ctx) {
    try {
      int peer = peerParam(ctx);
      Responses.json(ctx, 200, new JsonObject().put("node_id", services.config().nodeName())
          .put("buckets", KeyHash.BUCKETS)
          .put("digests", AntiEntropyVerticle.encodeDigests(services.digests().digestsFor(peer))));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
    }
  }

  /**
   * Anti-entropy: keys and versions (no values) in the listed buckets ({@code buckets=3,17,...})
   * that the asking peer also replicates, in {@link BucketPosition} order, one page at a time:
   * {@code limit} records at most (and {@link PeerLimits#BATCH_BYTES}), starting after
   * {@code after_bucket}/{@code after_key}; the answer's {@code next} is where the next page
   * starts, null after the last. Without {@code limit} (a node from before paging) the answer is
   * the plain array of the whole listing, or 413 when that is larger than one page.
   */
  private void bucket(RoutingContext ctx) {
    try {
      int peer = peerParam(ctx);
      List<Integer> buckets = bucketsParam(ctx);
      MultiMap q = Params.query(ctx);
      boolean paged = q.contains("limit");
      int limit = paged ? intParam(ctx, "limit", 1, LISTING_MAX) : LISTING_MAX;
      BucketPosition after = null;
      if (q.contains("after_bucket") || q.contains("after_key")) {
        String key = q.get("after_key");
        if (key == null) {
          throw BadRequest.of("invalid_after_key", "after_bucket needs after_key");
        }
        after = new BucketPosition(intParam(ctx, "after_bucket", 0, KeyHash.BUCKETS - 1), key);
      }
      long horizon = AntiEntropyVerticle.graceHorizon(services.config());
      services.reader().bucketVersions(buckets, after, limit).onSuccess(listing -> {
        List<Record> shared = new ArrayList<>();
        BucketPosition next = listing.next();
        long bytes = 0;
        String considered = null;
        for (Record r : listing.records()) {
          if (services.ring().isReplica(r.key(), peer) && !isStray(r) && !(r.tombstone() && r.version().hlc() < horizon)) {
            int n = RecordJson.wireBytes(r);
            if (!PeerLimits.fits(shared.size(), bytes, n)) {
              next = BucketPosition.of(considered);
              break;
            }
            bytes += n;
            shared.add(r);
          }
          considered = r.key();
        }
        if (paged) {
          Responses.json(ctx, 200, RecordJson.encodePage(shared, List.of(), next));
        } else if (next == null) {
          Responses.json(ctx, 200, RecordJson.encodeList(shared));
        } else {
          Responses.error(ctx, 413, "response_too_large", "the listing is longer than one page; ask with limit=");
        }
      }).onFailure(t -> Responses.fail(ctx, t));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
    }
  }

  /**
   * The start-up stale check of a peer ({@link io.distributedsqlite.cluster.InTouchRule}): this
   * node's standing, when it was in touch with the cluster, and the time of the newest delete whose
   * tombstone it purged; in every standing (the asking node takes no stale or rebuilding node's
   * stretches as evidence).
   */
  private void status(RoutingContext ctx) {
    NodeHealth h = services.health();
    Responses.json(ctx, 200, new JsonObject().put("node_id", services.config().nodeName())
        .put("state", h.standing().wireName()).put("in_touch", h.inTouch().toJson()).put("purged_up_to", h.purgedUpTo()));
  }

  /**
   * Quorum reads: this node's own records (tombstones included) for a JSON array of keys, within
   * the asker's {@code max_bytes} (at most {@link PeerLimits#BATCH_BYTES}); see {@link #answerKeys}.
   * A rebuilding node refuses (503), so coordinators ask the next replica instead of taking its
   * "none" for an answer.
   */
  private void read(RoutingContext ctx) {
    if (!services.health().answersReads()) {
      Responses.error(ctx, 503, "rebuilding", services.health().reason());
      return;
    }
    answerKeys(ctx, true, records -> records.removeIf(this::isStray));
  }

  /** Anti-entropy: full records for a JSON array of keys (those this node has); as {@link #read}. */
  private void records(RoutingContext ctx) {
    long horizon = AntiEntropyVerticle.graceHorizon(services.config());
    answerKeys(ctx, false, records -> records.removeIf(r -> isStray(r) || (r.tombstone() && r.version().hlc() < horizon)));
  }

  /**
   * Answers the records of the asked keys that fit the byte budget, and names the keys it left
   * out ({@code unserved}) so the asker asks for them again; a record larger than the budget is
   * answered alone. Without {@code max_bytes} (a node from before paging) the answer is the plain
   * array, or 413 when it would not fit one page. Reads stop at the budget, so no more than one
   * page of values is ever held for an answer. Quorum reads fill the record cache; repair reads
   * ({@code fillCache} false) do not evict what clients read.
   */
  private void answerKeys(RoutingContext ctx, boolean fillCache, java.util.function.Consumer<List<Record>> filter) {
    boolean paged;
    long budget;
    try {
      paged = Params.query(ctx).contains("max_bytes");
      budget = paged ? intParam(ctx, "max_bytes", 1, PeerLimits.BATCH_BYTES) : PeerLimits.BATCH_BYTES;
    } catch (BadRequest e) {
      Responses.error(ctx, e);
      return;
    }
    readKeys(ctx, budget, fillCache).onSuccess(served -> {
      List<Record> records = new ArrayList<>(served.records());
      filter.accept(records);
      if (paged) {
        Responses.json(ctx, 200, RecordJson.encodePage(records, served.unserved(), null));
      } else if (served.unserved().isEmpty()) {
        Responses.json(ctx, 200, RecordJson.encodeList(records));
      } else {
        Responses.error(ctx, 413, "response_too_large", "the records asked for are larger than one answer; ask with max_bytes=");
      }
    }).onFailure(t -> Responses.fail(ctx, t));
  }

  private Future<RecordReader.Served> readKeys(RoutingContext ctx, long budget, boolean fillCache) {
    return Responses.body(ctx, bodyLimit).compose(bytes -> {
      try {
        JsonArray keys = new JsonArray(io.vertx.core.buffer.Buffer.buffer(bytes));
        if (keys.size() > 10_000) {
          throw BadRequest.of("too_many_keys", "at most 10000 keys per request");
        }
        List<String> list = new ArrayList<>();
        for (Object k : keys) {
          if (!(k instanceof String s)) {
            throw BadRequest.of("invalid_body", "expected a JSON array of key strings");
          }
          list.add(s);
        }
        return services.reader().records(list, budget, RecordJson::wireBytes, fillCache);
      } catch (BadRequest e) {
        return Future.failedFuture(e);
      } catch (RuntimeException e) {
        return Future.failedFuture(BadRequest.of("invalid_json", "expected a JSON array of key strings"));
      }
    });
  }

  /** A copy of a key this node does not replicate (a legacy write's local copy): never served to peers. */
  private boolean isStray(Record r) {
    return !services.ring().isReplica(r.key(), services.config().nodeId());
  }

  private int peerParam(RoutingContext ctx) throws BadRequest {
    return intParam(ctx, "peer", 0, services.config().clusterSize() - 1);
  }

  private static List<Integer> bucketsParam(RoutingContext ctx) throws BadRequest {
    String v = Params.query(ctx).get("buckets");
    List<Integer> out = new ArrayList<>();
    try {
      for (String part : v.split(",")) {
        int b = Integer.parseInt(part.trim());
        if (b < 0 || b >= KeyHash.BUCKETS) {
          throw new NumberFormatException();
        }
        out.add(b);
      }
    } catch (RuntimeException e) {
      throw BadRequest.of("invalid_buckets", "buckets must be a comma-separated list of integers in 0.." + (KeyHash.BUCKETS - 1));
    }
    if (out.size() > 256) {
      throw BadRequest.of("invalid_buckets", "at most 256 buckets per request");
    }
    return out;
  }

  private static int intParam(RoutingContext ctx, String name, int min, int max) throws BadRequest {
    String v = Params.query(ctx).get(name);
    try {
      int n = Integer.parseInt(v);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // falls through to the error below
    }
    throw BadRequest.of("invalid_" + name, name + " must be an integer in " + min + ".." + max);
  }

  private void authenticate(RoutingContext ctx) {
    if (peerMtls && !hasVerifiedClientCertificate(ctx)) {
      Responses.error(ctx, 401, "peer_certificate_required", "PEER_MTLS is on: /internal/* needs a client certificate signed by the cluster's CA");
      return;
    }
    if (token != null) {
      String given = ctx.request().getHeader(TOKEN_HEADER);
      if (given == null || !MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8))) {
        Responses.error(ctx, 401, "unauthorized", "missing or wrong " + TOKEN_HEADER);
        return;
      }
    }
    ctx.next();
  }

  /** The TLS handshake already checked the certificate against the CA; here only its presence. */
  private static boolean hasVerifiedClientCertificate(RoutingContext ctx) {
    if (!ctx.request().isSSL()) {
      return false;
    }
    try {
      return !ctx.request().connection().peerCertificates().isEmpty();
    } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
      return false;
    }
  }

  /** This node's own local record, tombstones included; 404 when it has none. */
  private void get(RoutingContext ctx) {
    try {
      String key = Params.key(Params.query(ctx));
      services.reader().get(key).onSuccess(r -> {
        if (r == null) {
          Responses.error(ctx, 404, "not_found", "this node holds no record for the key");
          return;
        }
        StringBuilder sb = new StringBuilder(160 + (r.value() == null ? 0 : r.value().length()));
        RecordJson.append(sb, r);
        sb.setLength(sb.length() - 1);
        sb.append(',').append(nodeIdField).append('}');
        Responses.json(ctx, 200, sb.toString());
      }).onFailure(t -> Responses.fail(ctx, t));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
    }
  }

  private void set(RoutingContext ctx) {
    Responses.body(ctx, bodyLimit).compose(bytes -> {
      try {
        RecordFields f = RecordFields.parseSingle(bytes, services.config().maxValueBytes());
        if (f.version() == null) {
          if (!f.hasValue()) {
            throw BadRequest.of("missing_value", "value is required");
          }
          long expiresAt = f.ttlSeconds() > 0 ? services.config().wallMillis() + f.ttlSeconds() * 1000 : 0;
          return legacyWrite(ctx, new WriteRequest(f.key(), f.value(), false, expiresAt, writeLevel(ctx)), "success");
        }
        Record r = f.toReplicaRecord();
        return applyLocally(List.of(r)).map(n -> (Runnable) () -> answerApplied(ctx, n));
      } catch (BadRequest e) {
        return Future.failedFuture(e);
      }
    }).onSuccess(Runnable::run).onFailure(t -> Responses.fail(ctx, t));
  }

  private void delete(RoutingContext ctx) {
    try {
      MultiMap q = Params.query(ctx);
      String key = Params.key(q);
      String version = q.get("version");
      if (version == null) {
        legacyWrite(ctx, new WriteRequest(key, null, true, 0, writeLevel(ctx)), "deleted")
            .onSuccess(Runnable::run)
            .onFailure(t -> Responses.fail(ctx, t));
        return;
      }
      Version v;
      try {
        v = Version.parse(version);
      } catch (IllegalArgumentException e) {
        throw BadRequest.of("invalid_version", e.getMessage());
      }
      applyLocally(List.of(Record.tombstone(key, v)))
          .onSuccess(n -> answerApplied(ctx, n))
          .onFailure(t -> Responses.fail(ctx, t));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
    }
  }

  /**
   * The original tools' versionless write: coordinated like a client write, and, once it met its
   * level, also committed here with the same version before the answer (the original keeps a copy
   * on the node that received it, and its tools read it back from there at once). On a node that
   * does not replicate the key that copy is a stray. On a replica the coordinated write may have
   * been acknowledged by a peer before the local commit; applying the same version again is a
   * no-op under the merge rule once that commit lands.
   */
  private Future<Runnable> legacyWrite(RoutingContext ctx, WriteRequest req, String status) {
    return client.write(req).compose(w -> {
      Runnable answer = () -> client.answerWrite(ctx, w.request(), w.outcome(), status);
      if (!w.outcome().met()) {
        return Future.succeededFuture(answer);
      }
      Version v = w.outcome().version();
      Record copy = req.tombstone() ? Record.tombstone(req.key(), v) : Record.write(req.key(), req.value(), v, req.expiresAt());
      return applyLocally(List.of(copy)).map(n -> answer);
    });
  }

  /** A batch of versioned records from a coordinator, hint replay, read repair or anti-entropy. */
  private void apply(RoutingContext ctx) {
    Responses.body(ctx, bodyLimit)
        .compose(bytes -> {
          try {
            return applyLocally(RecordJson.decodeList(bytes, services.config().maxValueBytes()));
          } catch (BadRequest e) {
            return Future.failedFuture(e);
          }
        })
        .onSuccess(n -> answerApplied(ctx, n))
        .onFailure(t -> Responses.fail(ctx, t));
  }

  private Consistency writeLevel(RoutingContext ctx) throws BadRequest {
    return Params.consistency(Params.query(ctx), "w", services.config().writeConsistency());
  }

  /**
   * Applies versioned records through the storage worker, which decides per record (applied,
   * superseded by a newer version, refused as stamped beyond the future cap).
   */
  private Future<ApplyResult> applyLocally(List<Record> records) {
    if (records.isEmpty()) {
      return Future.succeededFuture(ApplyResult.allApplied(0));
    }
    return vertx.eventBus().<ApplyResult>request(StorageVerticle.ADDRESS, new StorageCommand.Apply(records),
            new DeliveryOptions().setSendTimeout(30_000))
        .map(m -> m.body())
        .recover(t -> {
          WriteRefused refused = WriteRefused.from(t); // answered by Responses.fail through RefusalAnswer
          return Future.failedFuture(refused != null ? refused : t);
        });
  }

  private void answerApplied(RoutingContext ctx, ApplyResult result) {
    Responses.json(ctx, 200, ApplyAnswer.encode(result, nodeIdField));
  }
}
