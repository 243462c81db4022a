package io.distributedsqlite.http;

import io.distributedsqlite.config.NodeConfig;

import io.distributedsqlite.cluster.DigestCodec;
import io.distributedsqlite.cluster.PurgeHorizon;
import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.storage.BucketPosition;
import io.distributedsqlite.storage.KeyHash;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.wire.BadRequest;
import io.distributedsqlite.cluster.NodeHealth;
import io.distributedsqlite.wire.RecordJson;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;

/**
 * What a peer's anti-entropy asks: {@code GET /internal/digests}, {@code GET /internal/buckets}
 * (keys and versions of some buckets) and {@code POST /internal/records} (full records), always
 * limited to the records the asking peer also replicates. Strays are never served.
 */
final class RepairRoutes {
  /** Most records one page of a bucket listing holds. */
  static final int LISTING_MAX = 10_000;

  private final NodeServices services;
  private final OwnRecords own;

  RepairRoutes(NodeServices services, OwnRecords own) {
    this.services = services;
    this.own = own;
  }

  void mount(Router router) {
    router.get("/internal/digests").handler(this::digests);
    router.get("/internal/buckets").handler(this::bucket);
    router.post("/internal/records").handler(this::records);
  }

  /** This node's digests of the records it shares with the asking peer. */
  private void digests(RoutingContext ctx) {
    try {
      int peer = peerParam(ctx);
      Responses.json(ctx, 200, new JsonObject().put("node_id", services.config().nodeName())
          .put("buckets", KeyHash.BUCKETS)
          .put("digests", DigestCodec.encode(services.digests().digestsFor(peer)))
          // An empty node rebuilding says so: a peer that rebuilds too must not count it as a source.
          .put("rebuilding", services.health().standing() == NodeHealth.Standing.REBUILDING));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
    }
  }

  /**
   * Keys and versions (no values) in the listed buckets ({@code buckets=3,17,...}) that the asking
   * peer also replicates, in {@link BucketPosition} order, one page at a time: {@code limit}
   * records at most (and {@link PeerLimits#BATCH_BYTES}), starting after
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
      int limit = paged ? Params.intParam(ctx, "limit", 1, LISTING_MAX) : LISTING_MAX;
      BucketPosition after = null;
      if (q.contains("after_bucket") || q.contains("after_key")) {
        String key = q.get("after_key");
        if (key == null) {
          throw BadRequest.of("invalid_after_key", "after_bucket needs after_key");
        }
        after = new BucketPosition(Params.intParam(ctx, "after_bucket", 0, KeyHash.BUCKETS - 1), key);
      }
      PurgeHorizon horizon = PurgeHorizon.at(services.config());
      services.reader().bucketVersions(buckets, after, limit).onSuccess(listing -> {
        List<Record> shared = new ArrayList<>();
        BucketPosition next = listing.next();
        long bytes = 0;
        String considered = null;
        for (Record r : listing.records()) {
          if (services.view().placement().isReplica(r.key(), peer) && !own.isStray(r) && !horizon.isPast(r)) {
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

  /** Full records for a JSON array of keys (those this node has), answered as {@code /internal/read}. */
  private void records(RoutingContext ctx) {
    PurgeHorizon horizon = PurgeHorizon.at(services.config());
    own.answerKeys(ctx, false, records -> records.removeIf(r -> own.isStray(r) || horizon.isPast(r)));
  }

  private int peerParam(RoutingContext ctx) throws BadRequest {
    return Params.intParam(ctx, "peer", 0, NodeConfig.MAX_ORDINAL);
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
}
