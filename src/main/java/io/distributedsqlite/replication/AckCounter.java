package io.distributedsqlite.replication;

import io.distributedsqlite.cluster.ReplicaSet;
import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.storage.WriteRefused;
import java.util.BitSet;

/**
 * Quorum arithmetic for one coordinated request to a key's {@link ReplicaSet}: the outcome is
 * decided the moment the acks meet the level (among the current and among the next replicas
 * while the membership changes), or the moment so many failed that the rest could no longer meet
 * it. {@link #decidedNow()} is true exactly once, at that moment.
 */
public final class AckCounter {
  private final ReplicaSet replicas;
  private final Consistency level;
  private final BitSet acked = new BitSet();
  private final BitSet failed = new BitSet();
  private boolean decided;
  private boolean answered;
  private WriteRefused localRefusal;

  public AckCounter(ReplicaSet replicas, Consistency level) {
    this.replicas = replicas;
    this.level = level;
  }

  public void ack(int node) {
    acked.set(node);
  }

  public void fail(int node) {
    failed.set(node);
  }

  public boolean decidedNow() {
    if (decided) {
      return false;
    }
    if (met() || !stillPossible()) {
      decided = true;
      return true;
    }
    return false;
  }

  private boolean stillPossible() {
    return replicas.met(level, node -> !failed.get(node));
  }

  /** Every replica answered or failed. */
  public boolean settled() {
    return acked.cardinality() + failed.cardinality() >= replicas.all().length;
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
    if (met() || (!stillPossible() && settled())) {
      answered = true;
      return true;
    }
    return false;
  }

  public boolean met() {
    return replicas.met(level, acked::get);
  }

  public int acked() {
    return acked.cardinality();
  }

  /** Acks the level needs among the current replicas (as many again among the next ones during a change). */
  public int required() {
    return level.required(replicas.current().length);
  }

  /** Why this node's own storage refused the write, or null when it did not refuse (or failed otherwise). */
  void localRefusal(WriteRefused refusal) {
    localRefusal = refusal;
  }

  WriteRefused localRefusal() {
    return localRefusal;
  }
}
