package io.distributedsqlite.security;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * HTTP plumbing for the security tests: a blocking java.net.http client that can send any
 * method, headers and body (optionally over TLS with a given trust), and a raw-socket exchange for
 * requests no well-behaved client would send.
 */
final class Wire {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final HttpClient client;

  Wire() {
    this(null);
  }

  Wire(SSLContext ssl) {
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).version(HttpClient.Version.HTTP_1_1);
    if (ssl != null) {
      b.sslContext(ssl);
    }
    this.client = b.build();
  }

  /** One answer. {@link #json()} is null when the body is not a JSON object. */
  record Resp(int status, java.net.http.HttpHeaders headers, String body) {
    JsonObject json() {
      try {
        return body == null || body.isEmpty() ? null : new JsonObject(body);
      } catch (DecodeException | ClassCastException e) {
        return null;
      }
    }

    Optional<String> header(String name) {
      return headers == null ? Optional.empty() : headers.firstValue(name);
    }

    /** Whether this is the store's error shape: JSON content type and an object with a non-empty "error". */
    boolean isJsonError() {
      JsonObject j = json();
      return header("content-type").map(ct -> ct.startsWith("application/json")).orElse(false)
          && j != null && j.getValue("error") instanceof String s && !s.isEmpty();
    }

    @Override
    public String toString() {
      String b = body == null ? "" : body.length() > 300 ? body.substring(0, 300) + "..." : body;
      return status + " " + b;
    }
  }

  /** Sends; {@code headers} alternate name, value. Throws on transport failure. */
  Resp send(String method, String url, String body, String... headers) throws IOException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      return new Resp(r.statusCode(), r.headers(), r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** As {@link #send}, but a transport failure is status 0 with the exception text as body. */
  Resp call(String method, String url, String body, String... headers) {
    try {
      return send(method, url, body, headers);
    } catch (IOException e) {
      return new Resp(0, null, e.toString());
    }
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** A compact /set body with a raw JSON value. */
  static String setBody(String key, String rawValue) {
    return "{\"key\":" + io.vertx.core.json.Json.encode(key) + ",\"value\":" + rawValue + "}";
  }

  // ---- raw sockets ---------------------------------------------------------------------

  /** What came back on a raw connection: the first response (status 0 when none) and whether the server closed. */
  record Raw(int status, String contentType, String body, boolean closedByServer, boolean timedOut) {
    boolean isJsonError() {
      if (contentType == null || !contentType.startsWith("application/json")) {
        return false;
      }
      try {
        return new JsonObject(body).getValue("error") instanceof String s && !s.isEmpty();
      } catch (RuntimeException e) {
        return false;
      }
    }
  }

  /**
   * Writes {@code request} on a fresh connection, half-closes when {@code shutdownOutput}, and reads
   * until the first response is complete, the server closes, or {@code readTimeoutMs} passes.
   */
  static Raw rawExchange(int port, byte[] request, boolean shutdownOutput, int readTimeoutMs) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 3000);
      s.setSoTimeout(readTimeoutMs);
      try {
        s.getOutputStream().write(request);
        s.getOutputStream().flush();
        if (shutdownOutput) {
          s.shutdownOutput();
        }
      } catch (IOException e) {
        // the server may refuse and close while we are still writing; read what it said
      }
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      boolean closed = false;
      boolean timedOut = false;
      long deadline = System.nanoTime() + readTimeoutMs * 1_000_000L;
      while (true) {
        Raw complete = parse(got.toByteArray(), false);
        if (complete != null) {
          return complete;
        }
        if (System.nanoTime() > deadline) {
          timedOut = true;
          break;
        }
        int n;
        try {
          n = in.read(buf);
        } catch (SocketTimeoutException e) {
          timedOut = true;
          break;
        } catch (IOException e) {
          closed = true; // reset by the server
          break;
        }
        if (n < 0) {
          closed = true;
          break;
        }
        got.write(buf, 0, n);
      }
      Raw partial = parse(got.toByteArray(), true);
      return partial != null ? new Raw(partial.status(), partial.contentType(), partial.body(), closed, timedOut)
          : new Raw(0, null, got.toString(StandardCharsets.ISO_8859_1), closed, timedOut);
    }
  }

  /** Parses the first response; null when incomplete (with {@code atEof}: when there is no status line at all). */
  private static Raw parse(byte[] bytes, boolean atEof) {
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    int end = text.indexOf("\r\n\r\n");
    if (end < 0) {
      return null;
    }
    String[] lines = text.substring(0, end).split("\r\n");
    String[] statusLine = lines[0].split(" ", 3);
    if (statusLine.length < 2 || !statusLine[0].contains("/")) {
      return null;
    }
    int status;
    try {
      status = Integer.parseInt(statusLine[1]);
    } catch (NumberFormatException e) {
      return null;
    }
    if (status >= 100 && status < 200) { // an interim response (100 Continue): the real one follows
      return parse(java.util.Arrays.copyOfRange(bytes, end + 4, bytes.length), atEof);
    }
    String contentType = null;
    int length = -1;
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon < 0) {
        continue;
      }
      String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = lines[i].substring(colon + 1).trim();
      if (name.equals("content-type")) {
        contentType = value;
      } else if (name.equals("content-length")) {
        length = Integer.parseInt(value);
      }
    }
    byte[] rest = java.util.Arrays.copyOfRange(bytes, end + 4, bytes.length);
    if (length >= 0 && rest.length >= length) {
      return new Raw(status, contentType, new String(rest, 0, length, StandardCharsets.UTF_8), false, false);
    }
    if (atEof) {
      return new Raw(status, contentType, new String(rest, StandardCharsets.UTF_8), true, false);
    }
    return null;
  }
}
