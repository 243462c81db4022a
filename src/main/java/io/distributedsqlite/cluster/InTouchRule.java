package io.distributedsqlite.cluster;

import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The stale-replica rule, as pure arithmetic (README, "Stale replicas").
 *
 * <p>A node is <em>in touch</em> while at least half of the cluster, itself included, answered
 * its failure-detector probes recently: it is not in a minority, so no majority of the cluster
 * can be taking deletes it does not hear of. It keeps the stretch of time it has been in touch
 * (this node's wall clock, never a record's version) and the span of its earlier stretches, and
 * persists them every few seconds.
 *
 * <p>A node last in touch longer than TOMBSTONE_GRACE ago (at start-up, or cut off while running)
 * cannot tell on its own whether the cluster went on without it: it serves nothing and asks its
 * peers. It is stale when a peer was in touch with the cluster, after this node was last, at a
 * moment more than the grace ago (deletes made then may be purged by now), or when a peer has
 * purged a tombstone of a delete made after this node was last in touch. Otherwise, once at
 * least half of the cluster answered, it resumes: the cluster was down, or cut up, with it.
 */
public final class InTouchRule {
  private InTouchRule() {}

  /** Whether {@code answering} nodes (this one included) are at least half of {@code clusterSize}. */
  public static boolean inTouch(int answering, int clusterSize) {
    return 2L * answering >= clusterSize;
  }

  /** How many peers must answer, besides this node, for it to be in touch. */
  public static int peersNeeded(int clusterSize) {
    return (clusterSize + 1) / 2 - 1;
  }

  /**
   * When a node was in touch: the current (or last) stretch {@code [since, until]} and the span of
   * all stretches before it {@code [previousSince, previousUntil]}; 0 where there was none. Merging
   * the earlier stretches into one span errs towards stale, never away from it.
   */
  public record Stretches(long previousSince, long previousUntil, long since, long until) {
    public static final Stretches NEVER = new Stretches(0, 0, 0, 0);

    /** In touch at {@code now}: extends the stretch, or starts a new one after a gap longer than {@code gapMillis}. */
    public Stretches touch(long now, long gapMillis) {
      if (until > 0 && now - until <= gapMillis && now >= until) {
        return new Stretches(previousSince, previousUntil, since, now);
      }
      if (until == 0) {
        return new Stretches(previousSince, previousUntil, now, now);
      }
      return new Stretches(previousSince == 0 ? since : previousSince, until, now, now);
    }

    public JsonObject toJson() {
      return new JsonObject().put("since", since).put("until", until)
          .put("previous_since", previousSince).put("previous_until", previousUntil);
    }

    public static Stretches fromJson(JsonObject j) {
      return new Stretches(j.getLong("previous_since", 0L), j.getLong("previous_until", 0L),
          j.getLong("since", 0L), j.getLong("until", 0L));
    }

    /** The persisted form; a bare number (a last-alive time from an older database) is one instant. */
    public static Stretches parse(String stored) {
      if (stored == null || stored.isBlank()) {
        return NEVER;
      }
      try {
        long t = Long.parseLong(stored.trim());
        return new Stretches(0, 0, t, t);
      } catch (NumberFormatException notANumber) {
        try {
          return fromJson(new JsonObject(stored));
        } catch (RuntimeException e) {
          return NEVER;
        }
      }
    }
  }

  /** A peer's answer to {@code /internal/status}. {@code purgedUpToMillis}: wall ms of the newest tombstone it purged. */
  public record PeerStanding(int peer, String state, Stretches stretches, long purgedUpToMillis) {
    /** Stale and rebuilding nodes' stretches say nothing about the data: they held none worth serving. */
    boolean stretchesCount() {
      return "normal".equals(state) || "checking".equals(state);
    }
  }

  public enum Verdict { WAIT, RESUME, STALE }

  /**
   * The check of a node last in touch at {@code mineUntil}: {@code answers} are the peers that
   * answered. {@code slackMillis} absorbs how coarsely in-touch times are measured and persisted.
   */
  public static Verdict verdict(long mineUntil, List<PeerStanding> answers, int clusterSize, long now, long graceMillis,
      long slackMillis) {
    if (evidence(mineUntil, answers, now, graceMillis, slackMillis) != null) {
      return Verdict.STALE;
    }
    return inTouch(1 + answers.size(), clusterSize) ? Verdict.RESUME : Verdict.WAIT;
  }

  /** Why this node is stale, from the first peer that shows it, or null. */
  public static String evidence(long mineUntil, List<PeerStanding> answers, long now, long graceMillis, long slackMillis) {
    long horizon = now - graceMillis;
    for (PeerStanding a : answers) {
      if (a.purgedUpToMillis() > mineUntil) {
        return "node " + a.peer() + " has purged the tombstone of a delete made at "
            + java.time.Instant.ofEpochMilli(a.purgedUpToMillis()) + ", after this node was last in touch";
      }
      if (!a.stretchesCount()) {
        continue;
      }
      Stretches s = a.stretches();
      long[][] spans = {{s.previousSince(), s.previousUntil()}, {s.since(), s.until()}};
      for (long[] span : spans) {
        if (span[1] == 0) {
          continue;
        }
        long wentOnFrom = Math.max(span[0], mineUntil);
        long wentOnTo = Math.min(span[1], horizon);
        if (wentOnTo - wentOnFrom > slackMillis) {
          return "node " + a.peer() + " was in touch with the cluster from " + java.time.Instant.ofEpochMilli(wentOnFrom)
              + " to " + java.time.Instant.ofEpochMilli(span[1]) + " without this node, longer than TOMBSTONE_GRACE ago";
        }
      }
    }
    return null;
  }
}
