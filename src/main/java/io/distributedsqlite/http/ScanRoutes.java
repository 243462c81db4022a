package io.distributedsqlite.http;

import io.distributedsqlite.wire.RecordJson;
import io.distributedsqlite.wire.RecordFields;
import io.distributedsqlite.wire.Json;
import io.distributedsqlite.wire.BadRequest;

import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.read.ScanCoordinator;
import io.distributedsqlite.read.ScanOutcome;
import io.distributedsqlite.read.ScanRequest;
import io.distributedsqlite.storage.KeyRange;
import io.distributedsqlite.storage.Record;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * {@code GET /scan}: a page of the live keys of a prefix or a half-open key range in key order,
 * coordinated across the ring by this event loop's {@link ScanCoordinator}; and
 * {@code POST /internal/scan}: one node's own page of records, which that coordinator asks for.
 * The cursor is the last key a page decided, base64url-encoded (opaque to clients).
 */
final class ScanRoutes {
  static final int DEFAULT_LIMIT = 100;
  static final int MAX_LIMIT = 1000;
  /** A node's page for a coordinator holds at most this many records (and {@link ScanCoordinator#PAGE_BYTES}). */
  static final int MAX_INTERNAL_LIMIT = 10_000;

  private final NodeServices services;
  private final NodeConfig config;
  private final ScanCoordinator scans;
  private final ReplicaGate gate;

  ScanRoutes(NodeServices services, ScanCoordinator scans, ReplicaGate gate) {
    this.services = services;
    this.config = services.config();
    this.scans = scans;
    this.gate = gate;
  }

  /** Mount after {@link PeerAuthentication}, which guards {@code /internal/*}. */
  void mount(Router router) {
    ClientAuth auth = new ClientAuth(config.apiTokens());
    router.get("/scan").handler(auth::requireRead).handler(this::scan);
    // Rebuilding: its records are not yet authoritative; the coordinator counts it as not answered.
    router.post("/internal/scan").handler(gate.answeringReads("not_ready")).handler(this::page);
  }

  /** A stale or checking node never gets here: {@link ReplicaGate} answers for it. */
  private void scan(RoutingContext ctx) {
    ScanRequest req;
    try {
      req = parse(Params.query(ctx));
    } catch (BadRequest e) {
      Responses.error(ctx, e);
      return;
    }
    scans.scan(req).onSuccess(out -> answer(ctx, req, out)).onFailure(t -> Responses.fail(ctx, t));
  }

  private ScanRequest parse(MultiMap q) throws BadRequest {
    for (String name : new String[] {"prefix", "start", "end", "limit", "cursor", "values", "r"}) {
      if (q.getAll(name).size() > 1) {
        throw BadRequest.of("invalid_" + name, "give " + name + " once");
      }
    }
    String prefix = q.get("prefix");
    String start = q.get("start");
    String end = q.get("end");
    KeyRange range;
    if (prefix != null) {
      if (start != null || end != null) {
        throw BadRequest.of("invalid_range", "give either prefix or start/end, not both");
      }
      if (!prefix.isEmpty()) {
        RecordFields.validateKey(prefix);
      }
      range = KeyRange.prefix(prefix);
    } else {
      if (start != null) {
        RecordFields.validateKey(start);
      }
      if (end != null) {
        RecordFields.validateKey(end);
      }
      range = new KeyRange(start, end);
    }
    int limit = DEFAULT_LIMIT;
    if (q.get("limit") != null) {
      try {
        limit = Integer.parseInt(q.get("limit"));
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_LIMIT) {
        throw BadRequest.of("invalid_limit", "limit must be an integer in 1.." + MAX_LIMIT);
      }
    }
    boolean values = bool(q.get("values"), "values", true);
    Consistency r = Params.consistency(q, "r", config.readConsistency());
    String after = q.get("cursor") == null || q.get("cursor").isEmpty() ? null : decodeCursor(q.get("cursor"));
    if (after != null && range.start() != null && KeyRange.compare(after, range.start()) < 0) {
      after = null;
    }
    return new ScanRequest(range, after, limit, values, r);
  }

  private static boolean bool(String v, String name, boolean def) throws BadRequest {
    if (v == null) {
      return def;
    }
    if (v.equals("true")) {
      return true;
    }
    if (v.equals("false")) {
      return false;
    }
    throw BadRequest.of("invalid_" + name, name + " must be true or false");
  }

  static String encodeCursor(String key) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
  }

  static String decodeCursor(String cursor) throws BadRequest {
    try {
      byte[] bytes = Base64.getUrlDecoder().decode(cursor);
      Json.requireUtf8(bytes);
      String key = new String(bytes, StandardCharsets.UTF_8);
      RecordFields.validateKey(key);
      return key;
    } catch (IllegalArgumentException | BadRequest e) {
      throw BadRequest.of("invalid_cursor", "cursor is not one this API gave out; pass the previous page's cursor unchanged");
    }
  }

  private void answer(RoutingContext ctx, ScanRequest req, ScanOutcome out) {
    if (!out.met()) {
      Responses.json(ctx, 503, new JsonObject()
          .put("error", "unavailable")
          .put("message", "scan consistency " + out.level().wireName() + " needs " + out.required()
              + " answering replicas of every key range, some range has " + out.weakest()
              + " (" + out.answered() + " of " + out.asked() + " nodes answered)")
          .put("required", out.required())
          .put("answered", out.answered())
          .put("asked", out.asked()));
      return;
    }
    StringBuilder sb = new StringBuilder(256 + out.items().size() * 64);
    sb.append("{\"items\":[");
    boolean first = true;
    for (Record r : out.items()) {
      sb.append(first ? "{\"key\":" : ",{\"key\":");
      first = false;
      Json.quote(sb, r.key());
      if (req.values()) {
        sb.append(",\"value\":").append(r.value());
      }
      sb.append(",\"version\":\"").append(r.version()).append('"');
      if (r.expiresAt() > 0) {
        sb.append(",\"expires_at\":").append(r.expiresAt());
      }
      sb.append('}');
    }
    sb.append("],\"cursor\":");
    if (out.cursor() == null) {
      sb.append("null");
    } else {
      sb.append('"').append(encodeCursor(out.cursor())).append('"');
    }
    sb.append(',').append(Json.nodeIdField(config.nodeName()))
        .append(",\"consistency\":{\"level\":\"").append(out.level().wireName())
        .append("\",\"asked\":").append(out.asked())
        .append(",\"answered\":").append(out.answered())
        .append(",\"required\":").append(out.required())
        .append(",\"repaired\":").append(out.repaired()).append("}}");
    Responses.json(ctx, 200, sb.toString());
  }

  /** A coordinator's request for this node's own records: {@code {"start","end","after","limit","values"}}. */
  private void page(RoutingContext ctx) {
    Responses.body(ctx, 16 * 1024).compose(bytes -> {
      try {
        JsonObject body;
        try {
          body = new JsonObject(io.vertx.core.buffer.Buffer.buffer(bytes));
        } catch (RuntimeException e) {
          throw BadRequest.of("invalid_json", "expected {\"start\",\"end\",\"after\",\"limit\",\"values\"}");
        }
        String start = optionalKey(body, "start");
        String end = optionalKey(body, "end");
        String after = optionalKey(body, "after");
        Object limit = body.getValue("limit");
        if (!(limit instanceof Integer n) || n < 1 || n > MAX_INTERNAL_LIMIT) {
          throw BadRequest.of("invalid_limit", "limit must be an integer in 1.." + MAX_INTERNAL_LIMIT);
        }
        Object values = body.getValue("values", Boolean.TRUE);
        if (!(values instanceof Boolean v)) {
          throw BadRequest.of("invalid_values", "values must be true or false");
        }
        return services.reader().scan(new KeyRange(start, end), after, n, v, ScanCoordinator.PAGE_BYTES);
      } catch (BadRequest e) {
        return io.vertx.core.Future.failedFuture(e);
      }
    }).onSuccess(p -> {
      ctx.response().putHeader(PeerClient.SCAN_COMPLETE_HEADER, Boolean.toString(p.complete()));
      Responses.json(ctx, 200, RecordJson.encodeList(p.records()));
    }).onFailure(t -> Responses.fail(ctx, t));
  }

  private static String optionalKey(JsonObject body, String name) throws BadRequest {
    Object v = body.getValue(name);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw BadRequest.of("invalid_" + name, name + " must be a string or null");
    }
    RecordFields.validateKey(s);
    return s;
  }
}
