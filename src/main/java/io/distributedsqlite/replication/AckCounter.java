package io.distributedsqlite.replication;

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
  private int localFailure;

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

  public boolean met() {
    return acked >= required;
  }

  public int acked() {
    return acked;
  }

  public int required() {
    return required;
  }

  void localFailure(int status) {
    localFailure = status;
  }

  int localFailure() {
    return localFailure;
  }
}
