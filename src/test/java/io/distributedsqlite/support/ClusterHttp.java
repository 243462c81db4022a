package io.distributedsqlite.support;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Blocking HTTP for cluster tests: short timeouts, JSON bodies. A
 * request that gets no answer (connection refused, timeout) comes back as status 0 instead of
 * throwing, so an {@link Await} poll can keep trying while a node restarts.
 */
public final class ClusterHttp {
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(6);

  private final Duration requestTimeout;
  private final HttpClient client = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2))
      .version(HttpClient.Version.HTTP_1_1)
      .build();

  public ClusterHttp() {
    this(REQUEST_TIMEOUT);
  }

  /** With a longer request timeout, for admin calls that wait ({@code ?wait=}). */
  public ClusterHttp(Duration requestTimeout) {
    this.requestTimeout = requestTimeout;
  }

  /** One answer: status 0 when there was none. {@link #json()} is null when the body is not a JSON object. */
  public record Response(int status, String body) {
    public JsonObject json() {
      try {
        return body == null || body.isEmpty() ? null : new JsonObject(body);
      } catch (DecodeException | ClassCastException e) {
        return null;
      }
    }

    @Override
    public String toString() {
      String b = body == null ? "" : body.length() > 300 ? body.substring(0, 300) + "..." : body;
      return status + " " + b;
    }
  }

  public static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  public Response get(String url) {
    return send(HttpRequest.newBuilder(URI.create(url)).GET());
  }

  public Response post(String url, String body) {
    return send(HttpRequest.newBuilder(URI.create(url))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  /** {@code POST} with extra headers, given as name, value, name, value... */
  public Response post(String url, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b);
  }

  public Response delete(String url) {
    return send(HttpRequest.newBuilder(URI.create(url)).DELETE());
  }

  /** {@code POST base/set?w=level} with {@code {"key":key,"value":valueJson}}; level null means the node default. */
  public Response set(String base, String key, String valueJson, String level) {
    String body = "{\"key\":" + io.vertx.core.json.Json.encode(key) + ",\"value\":" + valueJson + "}";
    return post(base + "/set" + (level == null ? "" : "?w=" + level), body);
  }

  public Response read(String base, String key, String level) {
    return get(base + "/get?key=" + enc(key) + (level == null ? "" : "&r=" + level));
  }

  public Response remove(String base, String key, String level) {
    return delete(base + "/delete?key=" + enc(key) + (level == null ? "" : "&w=" + level));
  }

  /** The node's own local record ({@code /internal/get}). */
  public Response local(String base, String key) {
    return get(base + "/internal/get?key=" + enc(key));
  }

  /** Whether every node's {@code GET /cluster} answers and shows all {@code bases.size()} nodes up. */
  public boolean allSeeAllUp(java.util.List<String> bases) {
    for (String base : bases) {
      Response r = get(base + "/cluster");
      JsonObject view = r.status() == 200 ? r.json() : null;
      if (view == null || view.getJsonArray("nodes") == null || view.getJsonArray("nodes").size() != bases.size()) {
        return false;
      }
      for (Object n : view.getJsonArray("nodes")) {
        if (!(n instanceof JsonObject node) || !"up".equals(node.getString("state"))) {
          return false;
        }
      }
    }
    return true;
  }

  /** Waits until every node sees every node up (fresh nodes probe each other first); fails otherwise. */
  public void awaitAllUp(java.util.List<String> bases, Duration timeout) {
    if (!Await.poll(timeout, () -> allSeeAllUp(bases))) {
      StringBuilder views = new StringBuilder();
      for (String base : bases) {
        views.append('\n').append(base).append(": ").append(get(base + "/cluster"));
      }
      throw new AssertionError("not every node sees every node up within " + timeout + views);
    }
  }

  private Response send(HttpRequest.Builder builder) {
    try {
      HttpResponse<String> res = client.send(builder.timeout(requestTimeout).build(),
          HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      return new Response(res.statusCode(), res.body());
    } catch (IOException e) {
      return new Response(0, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
