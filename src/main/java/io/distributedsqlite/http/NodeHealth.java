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
    return started.get() && !draining.get() && !storageFailing.get() && !stale.get();
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
    return storageFailing.get() ? "storage is refusing writes" : "ready";
  }
}
