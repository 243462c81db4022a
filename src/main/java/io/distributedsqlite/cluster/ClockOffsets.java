package io.distributedsqlite.cluster;

import io.distributedsqlite.storage.HybridLogicalClock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's estimate of its clock offset to every peer, and whether its clock is fit to stamp
 * writes. Each probe yields one sample: the peer's wall clock minus this node's wall clock at the
 * midpoint of the round trip, uncertain by half the round trip. Per peer the sample with the
 * smallest round trip among the last {@link #WINDOW} is the estimate (the tightest bound; older
 * samples age out, so a clock that was fixed is seen as fixed within a window of probes).
 *
 * <p>The node refuses to coordinate writes ({@link #refusal()} non-null) while
 * <ul>
 *   <li>it has not yet measured its offset against a majority of the cluster since start-up
 *       (itself counts; a one-node cluster is exempt): it cannot know whether its clock is right;</li>
 *   <li>its offset to a majority of the cluster certainly exceeds MAX_CLOCK_OFFSET (the offset
 *       minus its uncertainty): its stamps would reorder writes against the others';</li>
 *   <li>its hybrid clock runs ahead of its wall clock by more than the future cap: the persisted
 *       high-water mark came from a clock that once ran ahead, and every peer would refuse the
 *       stamps it would issue. It waits until its wall clock catches up (it never goes back).</li>
 * </ul>
 * The last two also make the node not ready ({@code problems}). Thread-safe: written by the
 * membership verticle, read by every HTTP event loop ({@link #refusal()} is one volatile read).
 */
public final class ClockOffsets {
  static final int WINDOW = 8;
  private static final Logger log = LoggerFactory.getLogger(ClockOffsets.class);

  /** One peer's current estimate: {@code offsetMillis} = peer clock minus this node's, +/- {@code errorMillis}. */
  public record Estimate(double offsetMillis, double errorMillis, long measuredAtMillis) {}

  private record Sample(double offsetMillis, double rttMillis, long atMillis) {}

  private final int self;
  private int size;
  private final long maxOffsetMillis;
  private final HybridLogicalClock clock;
  private final Consumer<String> problems;
  private final Sample[][] samples;
  private final int[] next;
  private volatile String refusal;
  private volatile boolean measuring;
  private String reportedProblem;

  /** {@code problems} hears the reason the node is not ready because of its clock, or null once it is fine again. */
  public ClockOffsets(int self, int size, long maxOffsetMillis, HybridLogicalClock clock, Consumer<String> problems) {
    this.self = self;
    this.size = size;
    this.maxOffsetMillis = maxOffsetMillis;
    this.clock = clock;
    this.problems = problems;
    this.samples = new Sample[io.distributedsqlite.config.NodeConfig.MAX_ORDINAL + 1][];
    this.next = new int[samples.length];
    evaluate();
  }

  /**
   * Follows a membership change: the majority is counted over {@code ordinals} (this node among
   * them), and what was measured of nodes no longer among them is forgotten.
   */
  public synchronized void members(int[] ordinals) {
    java.util.Set<Integer> keep = new java.util.HashSet<>();
    for (int o : ordinals) {
      keep.add(o);
    }
    for (int p = 0; p < samples.length; p++) {
      if (!keep.contains(p)) {
        samples[p] = null;
      }
    }
    size = ordinals.length;
    evaluate();
  }

  /** A probe of {@code peer} that took {@code rttMillis} and found its wall clock {@code offsetMillis} ahead of ours. */
  public synchronized void record(int peer, double offsetMillis, double rttMillis) {
    if (samples[peer] == null) {
      samples[peer] = new Sample[WINDOW];
    }
    samples[peer][next[peer]] = new Sample(offsetMillis, rttMillis, clock.wallMillis());
    next[peer] = (next[peer] + 1) % WINDOW;
  }

  /** The estimate for {@code peer}: zero for this node, null before the first sample. */
  public synchronized Estimate estimate(int peer) {
    if (peer == self) {
      return new Estimate(0, 0, clock.wallMillis());
    }
    Sample best = null;
    if (samples[peer] == null) {
      return null;
    }
    for (Sample s : samples[peer]) {
      if (s != null && (best == null || s.rttMillis() < best.rttMillis())) {
        best = s;
      }
    }
    return best == null ? null : new Estimate(best.offsetMillis(), best.rttMillis() / 2, best.atMillis());
  }

  /** Why this node must not coordinate writes now, or null when it may. */
  public String refusal() {
    return refusal;
  }

  /** True while the only reason to refuse is that the first measurements have not arrived yet. */
  public boolean measuring() {
    return measuring;
  }

  /** The clock whose fitness this judges. */
  public HybridLogicalClock clock() {
    return clock;
  }

  public long maxOffsetMillis() {
    return maxOffsetMillis;
  }

  /** Recomputes the refusal from the estimates and the clock; called after probes and periodically. */
  public synchronized void evaluate() {
    int majority = size / 2 + 1;
    int measured = 1;
    int tooFar = 0;
    StringBuilder far = new StringBuilder();
    for (int p = 0; p < samples.length; p++) {
      Estimate e = p == self || samples[p] == null ? null : estimate(p);
      if (e == null) {
        continue;
      }
      measured++;
      if (Math.abs(e.offsetMillis()) - e.errorMillis() > maxOffsetMillis) {
        tooFar++;
        far.append(far.length() == 0 ? "" : ", ").append("node ").append(p).append(": ")
            .append(Math.round(-e.offsetMillis())).append(" ms (+/- ").append(Math.round(e.errorMillis())).append(')');
      }
    }
    long ahead = clock.aheadOfWallMillis();
    String problem = null;
    if (ahead > clock.futureCapMillis()) {
      problem = "the persisted clock high-water mark is " + ahead + " ms ahead of this node's wall clock (more than the "
          + clock.futureCapMillis() + " ms future cap): the clock once ran ahead; writes are refused until the wall clock catches up";
    } else if (tooFar >= majority) {
      problem = "this node's clock is off by more than MAX_CLOCK_OFFSET=" + maxOffsetMillis + " ms from a majority of the cluster ("
          + far + ")";
    }
    boolean unmeasured = size > 1 && measured < majority;
    measuring = problem == null && unmeasured;
    refusal = problem != null ? problem
        : unmeasured ? "this node has not yet measured its clock offset against a majority of the cluster" : null;
    if (!java.util.Objects.equals(problem, reportedProblem)) {
      if (problem != null && (reportedProblem == null || !sameKind(problem, reportedProblem))) {
        log.error("not ready, refusing to coordinate writes: {}", problem);
      } else if (problem == null) {
        log.info("clock back within bounds: coordinating writes again");
      }
      reportedProblem = problem;
      problems.accept(problem);
    }
  }

  private static boolean sameKind(String a, String b) {
    return a.substring(0, 20).equals(b.substring(0, 20));
  }
}
