package io.distributedsqlite;

import io.distributedsqlite.config.ConfigException;
import io.distributedsqlite.config.MemoryBudget;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.StatefulSetPeers;
import io.distributedsqlite.storage.StorageException;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts one node from the environment; SIGTERM (or Ctrl-C) shuts it down gracefully. */
public final class Main {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) throws InterruptedException {
    NodeConfig config;
    try {
      String hostname = System.getenv().getOrDefault("HOSTNAME", System.getenv("NODE_ID"));
      config = NodeConfig.fromEnvironment(System.getenv(), StatefulSetPeers.ownDnsName(Path.of("/etc/hosts"), hostname),
          MemoryBudget.ofThisProcess());
    } catch (ConfigException e) {
      System.err.println("distributed-sqlite: bad configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    Vertx vertx = Vertx.vertx(new VertxOptions()
        .setEventLoopPoolSize(Math.max(2, config.httpInstances()))
        .setWorkerPoolSize(Math.max(4, config.readPoolSize() + 2)));
    Node node;
    try {
      node = Node.start(vertx, config).await(config.startupTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      System.err.println("distributed-sqlite: cannot start: not serving after STARTUP_TIMEOUT=" + config.startupTimeout()
          + " (raise it for a large database, and the startupProbe with it)");
      vertx.close();
      System.exit(1);
      return;
    } catch (Exception e) {
      Throwable cause = e.getCause() != null && !(e instanceof StorageException) ? e.getCause() : e;
      String reason = cause instanceof StorageException ? cause.getMessage() : cause.toString();
      System.err.println("distributed-sqlite: cannot start: " + reason);
      vertx.close();
      System.exit(1);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("shutting down");
      node.stop().eventually(vertx::close).onComplete(ar -> stopped.countDown());
      try {
        if (!stopped.await(config.shutdownTimeout().toSeconds() + 10, TimeUnit.SECONDS)) {
          log.error("shutdown did not finish in time");
        }
      } catch (InterruptedException ignored) {
        Thread.currentThread().interrupt();
      }
    }, "shutdown"));
  }
}
