package io.distributedsqlite.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The nodes the CLI talks to: each request goes to the first URL that answers, the others are
 * tried in turn when one cannot be reached (connection refused, timeout). Any HTTP answer, error
 * statuses included, is the answer. Bearer token and TLS trust as configured.
 */
final class Endpoints {
  /** No endpoint could be reached. */
  static final class Unreachable extends Exception {
    Unreachable(String message) {
      super(message);
    }
  }

  private final List<String> urls;
  private final String token;
  private final Duration timeout;
  private final HttpClient client;

  Endpoints(List<String> urls, String token, Duration timeout, Path caFile, boolean insecure) throws Exception {
    this.urls = urls.stream().map(u -> u.endsWith("/") ? u.substring(0, u.length() - 1) : u).toList();
    this.token = token;
    this.timeout = timeout;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1);
    if (insecure) {
      System.setProperty("jdk.internal.httpclient.disableHostnameVerification", "true");
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {new TrustAll()}, new SecureRandom());
      b.sslContext(ctx);
    } else if (caFile != null) {
      b.sslContext(trusting(caFile));
    }
    this.client = b.build();
  }

  HttpResponse<String> send(String method, String pathAndQuery, String body) throws Unreachable, InterruptedException {
    return send(method, pathAndQuery, body, HttpResponse.BodyHandlers.ofString());
  }

  <T> HttpResponse<T> send(String method, String pathAndQuery, String body, HttpResponse.BodyHandler<T> handler)
      throws Unreachable, InterruptedException {
    StringBuilder failures = new StringBuilder();
    for (String url : urls) {
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url + pathAndQuery)).timeout(timeout)
          .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
      if (body != null) {
        req.header("content-type", "application/json");
      }
      if (token != null && !token.isEmpty()) {
        req.header("Authorization", "Bearer " + token);
      }
      try {
        return client.send(req.build(), handler);
      } catch (IOException e) {
        failures.append(failures.length() == 0 ? "" : "; ").append(url).append(": ")
            .append(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
      } catch (IllegalArgumentException e) {
        failures.append(failures.length() == 0 ? "" : "; ").append(url).append(": not a valid URL");
      }
    }
    throw new Unreachable("no node answered (" + failures + ")");
  }

  private static SSLContext trusting(Path caFile) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(caFile)) {
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), new SecureRandom());
    return ctx;
  }

  /** --insecure: accepts any server certificate (testing only, and said so in the help). */
  private static final class TrustAll implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
