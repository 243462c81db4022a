package io.distributedsqlite.cluster;

import io.distributedsqlite.cluster.InTouchRule.Stretches;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What /ready reports, and whether this node's data may be served. Not ready while starting,
 * while draining for shutdown, while the disk refuses writes, while the replica is not
 * {@link Standing#NORMAL}, or while the stored membership view contradicts the configuration. Written by the storage path, Main, membership and anti-entropy; read
 * by every HTTP event loop. Thread-safe: fields are atomic or volatile, transitions synchronized.
 */
public final class NodeHealth {
  /** Whether this node's copy of the data can be trusted (see README, "Stale replicas"). */
  public enum Standing {
    /** In touch with the cluster; serves everything. */
    NORMAL,
    /** Started on an empty database: takes writes and repair, answers no read until its first repair round with every reachable peer. */
    REBUILDING,
    /** Last in touch longer than TOMBSTONE_GRACE ago: serves nothing until peers say whether the cluster went on without it. */
    CHECKING,
    /** Cut off longer than TOMBSTONE_GRACE while the cluster went on: serves nothing until DATA_DIR is wiped. */
    STALE;

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public static final String REBUILDING_REASON = "rebuilding: an empty database answers no read until its first repair "
      + "round with every reachable peer has completed";

  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicBoolean storageFailing = new AtomicBoolean();
  private volatile Standing standing = Standing.NORMAL;
  private volatile String standingReason = "";
  private volatile Standing resumeTo = Standing.NORMAL;
  private volatile Stretches inTouch = Stretches.NEVER;
  private volatile long purgedUpToMillis;
  private final java.util.concurrent.atomic.AtomicReference<String> clockProblem = new java.util.concurrent.atomic.AtomicReference<>();

  private final java.util.concurrent.atomic.AtomicReference<String> viewProblem = new java.util.concurrent.atomic.AtomicReference<>();

  /**
   * Why the membership view stored in the database contradicts the configuration (README,
   * "Membership"), or null; the node is not ready while it is set.
   */
  public void viewProblem(String problem) {
    viewProblem.set(problem);
  }

  public String viewProblem() {
    return viewProblem.get();
  }

  private final java.util.concurrent.atomic.AtomicReference<String> membership = new java.util.concurrent.atomic.AtomicReference<>();

  /**
   * Why this node is not a full member now (joining and streaming, leaving, left, not yet in the
   * view), or null when it is {@code normal}; the node is not ready while it is set.
   */
  public void membership(String why) {
    membership.set(why);
  }

  public String membership() {
    return membership.get();
  }

  /** Why this node's clock is unfit to stamp writes (too far off the cluster, or behind its high-water mark), or null. */
  public void clockProblem(String problem) {
    clockProblem.set(problem);
  }

  public Standing standing() {
    return standing;
  }

  /** Sets the standing and the text /ready and /cluster show for it; a stale node stays stale. */
  public synchronized void standing(Standing next, String reason) {
    if (standing == Standing.STALE && next != Standing.STALE) {
      return;
    }
    standing = next;
    standingReason = reason;
  }

  /** Turns the node stale unless it is already; returns whether this call did. */
  public synchronized boolean becomeStale(String reason) {
    if (standing == Standing.STALE) {
      return false;
    }
    standing(Standing.STALE, reason);
    return true;
  }

  public boolean stale() {
    return standing == Standing.STALE;
  }

  /** False while stale or checking: no data leaves the node, it coordinates nothing and peers see it down. */
  public boolean servesData() {
    Standing s = standing;
    return s == Standing.NORMAL || s == Standing.REBUILDING;
  }

  /** Whether this node's own records may answer a read (it is neither stale, checking nor rebuilding). */
  public boolean answersReads() {
    return standing == Standing.NORMAL;
  }

  /**
   * Starts checking with the peers whether this node is stale (it serves nothing meanwhile);
   * {@link #resume()} returns to the standing it had (normal, or rebuilding).
   */
  public synchronized void check(String reason) {
    if (standing == Standing.STALE || standing == Standing.CHECKING) {
      return;
    }
    resumeTo = standing;
    standing(Standing.CHECKING, reason);
  }

  /**
   * Says what a rebuild waits for; changes nothing unless the node is rebuilding (it may have
   * turned checking or stale on another thread meanwhile).
   */
  public synchronized void rebuildingReason(String reason) {
    if (standing == Standing.REBUILDING) {
      standingReason = reason;
    }
  }

  /** Ends the rebuild of a new database; false unless the node was rebuilding. */
  public synchronized boolean finishRebuild() {
    if (standing != Standing.REBUILDING) {
      return false;
    }
    standing(Standing.NORMAL, "ready");
    return true;
  }

  /** Ends a check that found the node not stale. */
  public synchronized void resume() {
    if (standing == Standing.CHECKING) {
      standing(resumeTo, resumeTo == Standing.REBUILDING ? REBUILDING_REASON : "ready");
    }
  }

  /** When this node was in touch with at least half of the cluster (its own wall clock). */
  public Stretches inTouch() {
    return inTouch;
  }

  public void inTouch(Stretches stretches) {
    inTouch = stretches;
  }

  /** Wall-clock ms of the newest tombstone this node ever purged (0: none). */
  public long purgedUpTo() {
    return purgedUpToMillis;
  }

  public void purgedUpTo(long millis) {
    purgedUpToMillis = millis;
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
    return started.get() && !draining.get() && !storageFailing.get() && standing == Standing.NORMAL && clockProblem.get() == null
        && viewProblem.get() == null && membership.get() == null;
  }

  public String reason() {
    if (!started.get()) {
      return "starting";
    }
    if (draining.get()) {
      return "shutting down";
    }
    String member = membership.get();
    if (member != null) {
      return "membership: " + member;
    }
    if (standing != Standing.NORMAL) {
      return standingReason;
    }
    String view = viewProblem.get();
    if (view != null) {
      return "membership: " + view;
    }
    String clock = clockProblem.get();
    if (clock != null) {
      return "clock_offset: " + clock;
    }
    return storageFailing.get() ? "storage is refusing writes" : "ready";
  }
}
