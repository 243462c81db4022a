package io.distributedsqlite.support;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The one way tests wait: poll a condition every 50 ms until it holds or a deadline passes. Never
 * a fixed sleep: it returns as soon as the condition is true.
 */
public final class Await {
  private static final long INTERVAL_MS = 50;

  private Await() {}

  /** Polls {@code condition} until it holds or {@code timeout} passed; returns whether it held. */
  public static boolean poll(Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (condition.getAsBoolean()) {
        return true;
      }
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(INTERVAL_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  /** As {@link #poll}, but a condition that does not hold within {@code timeout} fails the test, saying what. */
  public static void until(String what, Duration timeout, BooleanSupplier condition) {
    until(() -> what, timeout, condition);
  }

  public static void until(Supplier<String> what, Duration timeout, BooleanSupplier condition) {
    if (!poll(timeout, condition)) {
      throw new AssertionError("not within " + timeout.toSeconds() + "s: " + what.get());
    }
  }

  /**
   * Lets {@code d} pass on the clock (for behaviour that is defined by elapsed time, such as a
   * window or a grace period), running {@code meanwhile} at every poll; it may fail the test.
   */
  public static void elapse(Duration d, Runnable meanwhile) {
    long until = System.nanoTime() + d.toNanos();
    poll(d.plusSeconds(1), () -> {
      meanwhile.run();
      return System.nanoTime() > until;
    });
  }

  public static void elapse(Duration d) {
    elapse(d, () -> { });
  }
}
