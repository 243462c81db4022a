package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.cluster.InTouchRule;
import io.distributedsqlite.cluster.InTouchRule.PeerStanding;
import io.distributedsqlite.cluster.InTouchRule.Stretches;
import io.distributedsqlite.cluster.InTouchRule.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stale-replica rule: what counts is the time the cluster went on without a node, not its last write. */
class InTouchRuleTest {
  private static final long DAY = 86_400_000L;
  private static final long GRACE = 10 * DAY;
  private static final long SLACK = 5_000;
  private static final long NOW = 1_800_000_000_000L;

  private static PeerStanding peer(int id, String state, Stretches s) {
    return new PeerStanding(id, state, s, 0);
  }

  @Test
  void atLeastHalfOfTheClusterIsInTouch() {
    assertTrue(InTouchRule.inTouch(2, 3));
    assertFalse(InTouchRule.inTouch(1, 3), "alone in three is cut off");
    assertTrue(InTouchRule.inTouch(1, 2), "half of two is not a minority");
    assertTrue(InTouchRule.inTouch(2, 4));
    assertFalse(InTouchRule.inTouch(2, 5));
    for (int n = 1; n <= 9; n++) {
      int needed = InTouchRule.peersNeeded(n);
      assertTrue(InTouchRule.inTouch(needed + 1, n), "n=" + n);
      assertFalse(needed > 0 && InTouchRule.inTouch(needed, n), "n=" + n);
    }
  }

  @Test
  void touchingExtendsAStretchAndAGapStartsANewOne() {
    Stretches s = Stretches.NEVER.touch(1_000, SLACK);
    assertEquals(new Stretches(0, 0, 1_000, 1_000), s);
    s = s.touch(4_000, SLACK);
    assertEquals(new Stretches(0, 0, 1_000, 4_000), s, "within the slack: the same stretch");
    s = s.touch(60_000, SLACK);
    assertEquals(new Stretches(1_000, 4_000, 60_000, 60_000), s, "after a gap: a new stretch, the old one kept");
    s = s.touch(120_000, SLACK);
    assertEquals(new Stretches(1_000, 60_000, 120_000, 120_000), s, "earlier stretches merge into one span");
    assertEquals(s, Stretches.parse(s.toJson().encode()));
    assertEquals(new Stretches(0, 0, 7, 7), Stretches.parse("7"), "an older database's last-alive time");
    assertEquals(Stretches.NEVER, Stretches.parse(null));
  }

  @Test
  void aNodeDownWhileItsPeersWentOnPastTheGraceIsStale() {
    long mine = NOW - 12 * DAY;
    List<PeerStanding> answers = List.of(peer(0, "normal", new Stretches(0, 0, NOW - 30 * DAY, NOW)));
    assertEquals(Verdict.STALE, InTouchRule.verdict(mine, answers, 3, NOW, GRACE, SLACK));
    assertTrue(InTouchRule.evidence(mine, answers, NOW, GRACE, SLACK).contains("node 0"));
  }

  @Test
  void aNodeDownForLessThanTheGraceIsNotStale() {
    long mine = NOW - 9 * DAY;
    List<PeerStanding> answers = List.of(peer(0, "normal", new Stretches(0, 0, NOW - 30 * DAY, NOW)));
    assertEquals(Verdict.RESUME, InTouchRule.verdict(mine, answers, 3, NOW, GRACE, SLACK));
  }

  @Test
  void aWholeClusterDownTogetherPastTheGraceResumesEvenWhenSomeNodesCameBackFirst() {
    long outage = NOW - 20 * DAY;
    // node 0 stopped a second after this node; node 1 already came back and is in touch again
    List<PeerStanding> answers = List.of(
        peer(0, "checking", new Stretches(0, 0, outage - 30 * DAY, outage + 1_000)),
        peer(1, "normal", new Stretches(outage - 30 * DAY, outage + 2_000, NOW - 60_000, NOW)));
    assertNull(InTouchRule.evidence(outage, answers, NOW, GRACE, SLACK));
    assertEquals(Verdict.RESUME, InTouchRule.verdict(outage, answers, 3, NOW, GRACE, SLACK));
  }

  @Test
  void aClusterThatRanOnBeforeItWentDownMakesTheFirstNodeOutStale() {
    long mine = NOW - 20 * DAY;
    // the others kept running three days without this node, then went down too, then came back
    List<PeerStanding> answers = List.of(peer(1, "normal", new Stretches(mine - 30 * DAY, mine + 3 * DAY, NOW - 60_000, NOW)));
    assertEquals(Verdict.STALE, InTouchRule.verdict(mine, answers, 3, NOW, GRACE, SLACK));
  }

  @Test
  void aPurgedTombstoneOfADeleteThisNodeMissedMakesItStale() {
    long mine = NOW - 20 * DAY;
    List<PeerStanding> answers = List.of(new PeerStanding(1, "rebuilding", Stretches.NEVER, mine + 1_000));
    assertEquals(Verdict.STALE, InTouchRule.verdict(mine, answers, 3, NOW, GRACE, SLACK));
    assertTrue(InTouchRule.evidence(mine, answers, NOW, GRACE, SLACK).contains("purged"));
  }

  @Test
  void rebuildingAndStalePeersStretchesAreNoEvidence() {
    long mine = NOW - 20 * DAY;
    Stretches always = new Stretches(0, 0, NOW - 30 * DAY, NOW);
    List<PeerStanding> answers = List.of(peer(0, "rebuilding", always), peer(1, "stale", always));
    assertEquals(Verdict.RESUME, InTouchRule.verdict(mine, answers, 3, NOW, GRACE, SLACK));
  }

  @Test
  void withoutAnswersFromHalfOfTheClusterTheNodeWaits() {
    assertEquals(Verdict.WAIT, InTouchRule.verdict(NOW - 20 * DAY, List.of(), 3, NOW, GRACE, SLACK));
    assertEquals(Verdict.WAIT, InTouchRule.verdict(NOW - 20 * DAY,
        List.of(peer(0, "checking", new Stretches(0, 0, 1, NOW - 20 * DAY))), 5, NOW, GRACE, SLACK));
  }
}
