package io.distributedsqlite.storage;

import java.util.List;

/**
 * What a replica did with each record of an {@link StorageCommand.Apply}, in the order sent: the
 * storage worker's reply, and (encoded) the answer of {@code /internal/apply}. Immutable.
 */
public record ApplyResult(List<Outcome> outcomes) {

  /** One record's fate. {@code winner} is set only for {@link Kind#SUPERSEDED}. */
  public record Outcome(Kind kind, Version winner) {
    public static final Outcome APPLIED = new Outcome(Kind.APPLIED, null);
    public static final Outcome REFUSED_FUTURE = new Outcome(Kind.REFUSED_FUTURE, null);

    public static Outcome supersededBy(Version winner) {
      return new Outcome(Kind.SUPERSEDED, winner);
    }
  }

  public enum Kind {
    /** Stored, or the replica already held exactly this version. */
    APPLIED,
    /** The replica keeps a newer version ({@code winner}); the record changed nothing. */
    SUPERSEDED,
    /** Stamped beyond the replica's future cap: not stored, not observed; do not send it again. */
    REFUSED_FUTURE
  }

  public static ApplyResult allApplied(int records) {
    return new ApplyResult(java.util.Collections.nCopies(records, Outcome.APPLIED));
  }

  public int size() {
    return outcomes.size();
  }

  public Outcome get(int i) {
    return outcomes.get(i);
  }

  public int count(Kind kind) {
    int n = 0;
    for (Outcome o : outcomes) {
      n += o.kind() == kind ? 1 : 0;
    }
    return n;
  }
}
