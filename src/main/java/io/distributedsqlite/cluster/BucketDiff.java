package io.distributedsqlite.cluster;

import io.distributedsqlite.storage.BucketPosition;
import io.distributedsqlite.storage.Record;
import java.util.ArrayList;
import java.util.List;

/**
 * What differs between this node's and a peer's listing of the same buckets: a pure function of
 * the two listings (keys and versions, each sorted in {@link BucketPosition} order, a key at most
 * once per side). A key only this node has, or has in a newer version, is pushed; a key only the
 * peer has, or has newer, is pulled; equal versions move nothing. A tombstone is a version like any
 * other. Listings arrive in pages, so the comparison stops at {@code bound}: a record after it
 * may still meet its counterpart on the other side's next page, and is left for the next step.
 */
public final class BucketDiff {
  private BucketDiff() {}

  /**
   * Keys to push and to pull, and how many leading records of each listing were compared (the
   * rest lie after the bound).
   */
  public record Result(List<String> push, List<String> pull, int mineUsed, int theirsUsed) {}

  /** Compares the records of both listings up to {@code bound} inclusive (null: all of them). */
  public static Result between(List<Record> mine, List<Record> theirs, BucketPosition bound) {
    List<String> push = new ArrayList<>();
    List<String> pull = new ArrayList<>();
    int i = 0;
    int j = 0;
    while (true) {
      Record m = i < mine.size() && upTo(mine.get(i), bound) ? mine.get(i) : null;
      Record t = j < theirs.size() && upTo(theirs.get(j), bound) ? theirs.get(j) : null;
      if (m == null && t == null) {
        return new Result(push, pull, i, j);
      }
      int c = m == null ? 1 : t == null ? -1 : BucketPosition.of(m.key()).compareTo(BucketPosition.of(t.key()));
      if (c < 0) {
        push.add(m.key()); // they lack it
        i++;
      } else if (c > 0) {
        pull.add(t.key()); // we lack it
        j++;
      } else {
        if (m.version().isNewerThan(t.version())) {
          push.add(m.key());
        } else if (t.version().isNewerThan(m.version())) {
          pull.add(t.key());
        }
        i++;
        j++;
      }
    }
  }

  private static boolean upTo(Record r, BucketPosition bound) {
    return bound == null || BucketPosition.of(r.key()).compareTo(bound) <= 0;
  }
}
