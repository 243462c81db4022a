package io.distributedsqlite.http;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What /ready reports: not ready while starting, while draining for shutdown, or while the disk
 * refuses writes. Written by the storage path and Main, read by every HTTP event loop.
 */
public final class NodeHealth {
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicBoolean storageFailing = new AtomicBoolean();
  private final AtomicBoolean stale = new AtomicBoolean();
  private final java.util.concurrent.atomic.AtomicReference<String> clockProblem = new java.util.concurrent.atomic.AtomicReference<>();

  /** Why this node's clock is unfit to stamp writes (too far off the cluster, or behind its high-water mark), or null. */
  public void clockProblem(String problem) {
    clockProblem.set(problem);
  }

  /** Down longer than TOMBSTONE_GRACE: not ready until wiped. */
  public void stale(boolean isStale) {
    stale.set(isStale);
  }

  public void markStarted() {
    started.set(true);
  }

  public void markDraining() {
    draining.set(true);
  }

  public void storageFailing(boolean failing) {
    storageFailing.set(failing);
  }

  public boolean ready() {
    return started.get() && !draining.get() && !storageFailing.get() && !stale.get() && clockProblem.get() == null;
  }

  public String reason() {
    if (!started.get()) {
      return "starting";
    }
    if (draining.get()) {
      return "shutting down";
    }
    if (stale.get()) {
      return "down longer than TOMBSTONE_GRACE: wipe DATA_DIR and restart";
    }
    String clock = clockProblem.get();
    if (clock != null) {
      return "clock_offset: " + clock;
    }
    return storageFailing.get() ? "storage is refusing writes" : "ready";
  }
}
