package io.distributedsqlite.loadtests;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerOptions;

/**
 * The HTTP ceiling for load runs: a Vert.x server that reads each request's body and answers a
 * fixed 200 JSON, with the node's HTTP settings (one event loop and one server instance per core,
 * TCP_NODELAY) and nothing else. Running a load shape against it gives the most this machine's
 * client and Vert.x can do for that request shape; bin/load-run reports every shape as a ratio to
 * it.
 *
 * <p>{@code PORT} (default 8079), {@code HOST} (default 127.0.0.1), {@code HTTP_INSTANCES}
 * (default the number of cores). Runs until killed.
 */
public final class CeilingServer extends VerticleBase {
  private static final Buffer BODY = Buffer.buffer("{\"status\":\"success\",\"node_id\":\"0\",\"key\":\"ceiling\"}");

  private final String host;
  private final int port;

  CeilingServer(String host, int port) {
    this.host = host;
    this.port = port;
  }

  @Override
  public Future<?> start() {
    HttpServerOptions options = new HttpServerOptions().setHost(host).setPort(port).setTcpNoDelay(true);
    return vertx.createHttpServer(options)
        .requestHandler(req -> req.body().onComplete(ar -> req.response()
            .setStatusCode(200)
            .putHeader("content-type", "application/json")
            .end(BODY)))
        .listen();
  }

  public static void main(String[] args) {
    String host = env("HOST", "127.0.0.1");
    int port = Integer.parseInt(env("PORT", "8079"));
    int instances = Integer.parseInt(env("HTTP_INSTANCES", Integer.toString(Runtime.getRuntime().availableProcessors())));
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(Math.max(2, instances)));
    vertx.deployVerticle(() -> new CeilingServer(host, port), new DeploymentOptions().setInstances(instances))
        .onSuccess(id -> System.out.println("ceiling server listening on " + host + ":" + port + " (" + instances + " instances)"))
        .onFailure(t -> {
          System.err.println("ceiling server failed to start: " + t);
          vertx.close();
          System.exit(1);
        });
  }

  private static String env(String name, String def) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? def : v.trim();
  }
}
