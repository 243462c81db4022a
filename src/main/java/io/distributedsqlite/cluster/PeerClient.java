package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.Peer;
import io.distributedsqlite.config.PeerLimits;
import io.distributedsqlite.wire.ApplyAnswer;
import io.distributedsqlite.wire.RecordJson;
import io.distributedsqlite.wire.RecordPage;
import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.wire.BadRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.util.List;

/**
 * Talks to other nodes' {@code /internal/*} endpoints over kept-alive HTTP connections, with the
 * cluster token, this node's membership view identity and a timeout on every request. One per verticle instance (WebClient pools are
 * per event loop anyway).
 */
public final class PeerClient {
  private final WebClient client;
  private final NodeConfig config;
  private final long timeoutMs;
  private final CurrentView view;

  /** {@code view}: whose identity every request carries in {@link ViewIdentity#HEADER}. */
  public PeerClient(Vertx vertx, NodeConfig config, CurrentView view) {
    this.config = config;
    this.view = view;
    this.timeoutMs = config.peerTimeout().toMillis();
    WebClientOptions options = new WebClientOptions()
        .setKeepAlive(true)
        .setTcpNoDelay(true)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMs))
        .setIdleTimeout(60)
        .setUserAgent("distributed-sqlite-peer");
    config.tls().ifPresent(tls -> {
      options.setSsl(true).setVerifyHost(true)
          .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(tls.caFile().toString()));
      if (tls.peerMtls()) {
        // Mutual TLS: this node's own certificate identifies it to the peer.
        options.setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions()
            .setCertPath(tls.certFile().toString()).setKeyPath(tls.keyFile().toString()));
      }
    });
    this.client = WebClient.create(vertx, options, new io.vertx.core.http.PoolOptions().setHttp1MaxSize(8));
  }

  private HttpRequest<Buffer> request(io.vertx.core.http.HttpMethod method, int peer, String uri) {
    Peer p = view.address(peer);
    HttpRequest<Buffer> req = client.request(method, p.port(), p.host(), uri).timeout(timeoutMs);
    config.clusterToken().ifPresent(t -> req.putHeader("X-Cluster-Token", t));
    // The peer refuses (409 view_mismatch) a request from a node whose view differs from its own.
    req.putHeader(ViewIdentity.HEADER, view.identity().header());
    return req;
  }

  /**
   * Applies versioned records on the peer; succeeds only on a 200, with what the peer did with
   * each record (applied, superseded by the version it keeps, refused as stamped too far ahead).
   * Callers move their clock past the winning versions they learn of. Any other status fails with
   * {@link PeerRefused}, which says whether the content itself was refused.
   */
  public Future<ApplyResult> apply(int peer, List<Record> records) {
    Buffer body = Buffer.buffer(RecordJson.encodeList(records));
    return request(io.vertx.core.http.HttpMethod.POST, peer, "/internal/apply")
        .timeout(PeerLimits.timeoutMs(timeoutMs, body.length()))
        .putHeader("content-type", "application/json")
        .sendBuffer(body)
        .compose(res -> {
          if (res.statusCode() != 200) {
            return Future.failedFuture(new PeerRefused(peer, res.statusCode(), "/internal/apply"));
          }
          try {
            return Future.succeededFuture(ApplyAnswer.decode(res.body() == null ? null : res.body().getBytes(), records.size()));
          } catch (IllegalArgumentException e) {
            return Future.failedFuture("peer " + peer + ": " + e.getMessage());
          }
        });
  }

  /**
   * The peer's local records (tombstones included) for the keys it has. The peer answers within
   * its byte budget and names the keys it left out; those are asked again until every key was
   * answered.
   */
  public Future<List<Record>> read(int peer, List<String> keys) {
    return readRest(peer, keys, new java.util.ArrayList<>());
  }

  private Future<List<Record>> readRest(int peer, List<String> keys, List<Record> found) {
    return page(io.vertx.core.http.HttpMethod.POST, peer, "/internal/read?max_bytes=" + PeerLimits.BATCH_BYTES,
        new io.vertx.core.json.JsonArray(new java.util.ArrayList<>(keys)).toBuffer(), timeoutMs)
        .compose(page -> {
          found.addAll(page.records());
          if (page.unserved().isEmpty()) {
            return Future.succeededFuture(found);
          }
          if (page.records().isEmpty()) {
            return Future.failedFuture("peer " + peer + " answered none of " + page.unserved().size() + " keys to /internal/read");
          }
          return readRest(peer, page.unserved(), found);
        });
  }

  /** Header of {@code /internal/scan} answers: whether the page reaches the end of the range. */
  public static final String SCAN_COMPLETE_HEADER = "X-Scan-Complete";

  /**
   * One page of the peer's records in a key range after {@code after} ({@code /internal/scan}). A
   * page is heavier than a point read (up to 4 MiB), so it may take half of REQUEST_TIMEOUT when
   * that is longer than PEER_TIMEOUT.
   */
  public Future<io.distributedsqlite.storage.ScanPage> scan(int peer, io.distributedsqlite.storage.KeyRange range,
      String after, int limit, boolean values) {
    io.vertx.core.json.JsonObject body = new io.vertx.core.json.JsonObject()
        .put("start", range.start()).put("end", range.end()).put("after", after).put("limit", limit).put("values", values);
    return request(io.vertx.core.http.HttpMethod.POST, peer, "/internal/scan")
        .timeout(Math.max(timeoutMs, config.requestTimeout().toMillis() / 2))
        .putHeader("content-type", "application/json")
        .sendBuffer(body.toBuffer())
        .compose(res -> {
          if (res.statusCode() != 200) {
            return Future.failedFuture("peer " + peer + " answered " + res.statusCode() + " to /internal/scan");
          }
          try {
            List<Record> records = RecordJson.decodeList(res.body().getBytes(), Integer.MAX_VALUE);
            if (!values) {
              records.replaceAll(r -> r.tombstone() ? r : new Record(r.key(), null, r.version(), false, r.expiresAt()));
            }
            boolean complete = "true".equals(res.getHeader(SCAN_COMPLETE_HEADER));
            if (!complete && records.isEmpty()) {
              return Future.failedFuture("peer " + peer + " sent an empty page that is not complete");
            }
            return Future.succeededFuture(new io.distributedsqlite.storage.ScanPage(records, complete));
          } catch (BadRequest e) {
            return Future.failedFuture("peer " + peer + " sent unreadable records: " + e.getMessage());
          }
        });
  }

  /**
   * The failure detector's probe, carrying this node's wall clock ({@code clock}) and view
   * identity (the header); succeeds on a 200 with the peer's wall clock and view identity as far as
   * it sent them (a node from before views sends none). Any other status is a failed probe.
   */
  public Future<PingAnswer> ping(int peer, long timeout, long wallMillis) {
    return request(io.vertx.core.http.HttpMethod.GET, peer, "/internal/ping?clock=" + wallMillis).timeout(timeout).send()
        .compose(res -> {
          if (res.statusCode() != 200) {
            return Future.failedFuture("ping answered " + res.statusCode() + errorCode(res.bodyAsString()));
          }
          io.vertx.core.json.JsonObject body;
          try {
            body = res.bodyAsJsonObject();
          } catch (RuntimeException e) {
            body = null;
          }
          if (body == null) {
            return Future.succeededFuture(new PingAnswer(null, null));
          }
          Object clock = body.getValue("clock");
          Object view = body.getValue("view");
          return Future.succeededFuture(new PingAnswer(clock instanceof Number n ? n.longValue() : null,
              view instanceof io.vertx.core.json.JsonObject v ? ViewIdentity.fromJson(v) : null));
        });
  }

  /** What a probe learnt: the peer's wall clock (epoch ms) and view identity, each null when not sent. */
  public record PingAnswer(Long clock, ViewIdentity view) {}

  /**
   * A bulk request answered with a {@link RecordPage} (or a plain array of records, which is a
   * complete page), given the time to receive a whole page of {@link PeerLimits#BATCH_BYTES}.
   */
  public Future<RecordPage> page(io.vertx.core.http.HttpMethod method, int peer, String uri, Buffer body) {
    return page(method, peer, uri, body, PeerLimits.timeoutMs(timeoutMs, PeerLimits.BATCH_BYTES));
  }

  private Future<RecordPage> page(io.vertx.core.http.HttpMethod method, int peer, String uri, Buffer body, long timeout) {
    HttpRequest<Buffer> req = request(method, peer, uri).putHeader("content-type", "application/json").timeout(timeout);
    return answer(peer, uri, body == null ? req.send() : req.sendBuffer(body)).compose(buf -> {
      try {
        return Future.succeededFuture(RecordJson.decodePage(buf.getBytes()));
      } catch (BadRequest e) {
        return Future.failedFuture("peer " + peer + " sent unreadable records to " + uri + ": " + e.getMessage());
      }
    });
  }

  /** ": <error>" from a JSON error body (e.g. a stale peer's "stale_replica"), else "". */
  private static String errorCode(String body) {
    try {
      String code = body == null ? null : new io.vertx.core.json.JsonObject(body).getString("error");
      return code == null ? "" : ": " + code;
    } catch (RuntimeException e) {
      return "";
    }
  }

  /** A JSON request to an arbitrary internal route, for anti-entropy exchanges. */
  public Future<Buffer> call(io.vertx.core.http.HttpMethod method, int peer, String uri, Buffer body) {
    HttpRequest<Buffer> req = request(method, peer, uri).putHeader("content-type", "application/json");
    return answer(peer, uri, body == null ? req.send() : req.sendBuffer(body));
  }

  /** A JSON request whose answer is taken whatever its status (membership changes read the peer's error). */
  public Future<io.vertx.ext.web.client.HttpResponse<Buffer>> exchange(io.vertx.core.http.HttpMethod method, int peer, String uri,
      Buffer body) {
    HttpRequest<Buffer> req = request(method, peer, uri).putHeader("content-type", "application/json");
    return body == null ? req.send() : req.sendBuffer(body);
  }

  private static Future<Buffer> answer(int peer, String uri, Future<io.vertx.ext.web.client.HttpResponse<Buffer>> sent) {
    return sent.compose(res -> res.statusCode() == 200
        ? Future.succeededFuture(res.body() == null ? Buffer.buffer() : res.body())
        : Future.failedFuture(new PeerRefused(peer, res.statusCode(), uri)));
  }

  public void close() {
    client.close();
  }
}
