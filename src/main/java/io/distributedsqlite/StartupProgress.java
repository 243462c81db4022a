package io.distributedsqlite;

import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports what a starting node is doing, so an operator watching the log of a node with a large
 * database sees the integrity check and the digest rebuild advance instead of silence until
 * STARTUP_TIMEOUT. The blocking start-up code names each step and counts records; a timer on the
 * event loop logs the current step, records done of total and the time so far every
 * {@code every}, and {@link #finish()} stops it.
 */
final class StartupProgress {
  private static final Logger log = LoggerFactory.getLogger(StartupProgress.class);

  private final Vertx vertx;
  private final long startNanos = System.nanoTime();
  private final AtomicLong done = new AtomicLong();
  private final long timer;
  private volatile String step = "starting";
  private volatile long total = -1;

  private StartupProgress(Vertx vertx, Duration every) {
    this.vertx = vertx;
    this.timer = vertx.setPeriodic(every.toMillis(), id -> log.info(report()));
  }

  static StartupProgress start(Vertx vertx, Duration every) {
    return new StartupProgress(vertx, every);
  }

  /** A step without a record count (its progress is the time it has taken). */
  void step(String name) {
    step(name, -1);
  }

  /** A step over {@code records} records; {@link #record()} counts each one. */
  void step(String name, long records) {
    done.set(0);
    total = records;
    step = name;
    log.info("start-up: {}{}", name, records >= 0 ? " (" + records + " records)" : "");
  }

  void record() {
    done.incrementAndGet();
  }

  /** The line the timer logs. */
  String report() {
    long t = total;
    String counts = t < 0 ? "" : ": " + done.get() + " of " + t + " records (" + (t == 0 ? 100 : done.get() * 100 / t) + "%)";
    return "start-up: " + step + counts + ", " + elapsed().toSeconds() + "s since start";
  }

  /** Stops the reports; the node logs its own "serving" line. */
  Duration finish() {
    vertx.cancelTimer(timer);
    return elapsed();
  }

  private Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }
}
