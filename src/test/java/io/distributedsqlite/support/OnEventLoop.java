package io.distributedsqlite.support;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One event-loop context of a node's Vert.x, for tests that drive event-loop objects (a
 * coordinator) from the test thread: each call runs on that loop, the test thread waits for its
 * result (at most 30 s).
 */
public final class OnEventLoop {
  private final Context context;

  public OnEventLoop(Vertx vertx) {
    this.context = vertx.getOrCreateContext();
  }

  /** Runs {@code call} on the loop and waits for the future it returns. */
  public <T> T await(Supplier<Future<T>> call) {
    Promise<T> done = Promise.promise();
    context.runOnContext(v -> {
      try {
        call.get().onComplete(done);
      } catch (RuntimeException e) {
        done.fail(e);
      }
    });
    try {
      return done.future().await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs {@code call} on the loop and waits for its value (e.g. to build an object there). */
  public <T> T get(Supplier<T> call) {
    return await(() -> Future.succeededFuture(call.get()));
  }
}
