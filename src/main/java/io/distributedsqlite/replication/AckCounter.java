package io.distributedsqlite.replication;

import io.distributedsqlite.storage.WriteRefused;

/**
 * Quorum arithmetic for one coordinated request: with {@code replicas} asked and {@code required}
 * needed, the outcome is decided the moment enough acks arrived, or the moment so many failed
 * that the rest could no longer reach {@code required}. {@link #decidedNow()} is true exactly
 * once, at that moment.
 */
public final class AckCounter {
  private final int replicas;
  private final int required;
  private int acked;
  private int failed;
  private boolean decided;
  private boolean answered;
  private WriteRefused localRefusal;

  public AckCounter(int replicas, int required) {
    this.replicas = replicas;
    this.required = required;
  }

  public void ack() {
    acked++;
  }

  public void fail() {
    failed++;
  }

  public boolean decidedNow() {
    if (decided) {
      return false;
    }
    if (acked >= required || replicas - failed < required) {
      decided = true;
      return true;
    }
    return false;
  }

  /** Every replica answered or failed. */
  public boolean settled() {
    return acked + failed == replicas;
  }

  /**
   * True exactly once: when enough acks arrived, or, when the level can no longer be met, when
   * the last replica settled, so a refusal reports the final count (each wait is bounded by the
   * peer timeout).
   */
  public boolean readyToAnswer() {
    if (answered) {
      return false;
    }
    if (acked >= required || (replicas - failed < required && settled())) {
      answered = true;
      return true;
    }
    return false;
  }

  public boolean met() {
    return acked >= required;
  }

  public int acked() {
    return acked;
  }

  public int required() {
    return required;
  }

  /** Why this node's own storage refused the write, or null when it did not refuse (or failed otherwise). */
  void localRefusal(WriteRefused refusal) {
    localRefusal = refusal;
  }

  WriteRefused localRefusal() {
    return localRefusal;
  }
}
