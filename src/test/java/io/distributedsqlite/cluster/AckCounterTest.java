package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.replication.AckCounter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Quorum arithmetic: a coordinated request is decided exactly once, on enough acks or too many failures. */
class AckCounterTest {
  private final java.util.Map<AckCounter, Integer> answered = new java.util.IdentityHashMap<>();

  /** A counter over replicas 0..rf-1 (outside a membership change). */
  private static AckCounter counter(int rf, Consistency level) {
    int[] replicas = new int[rf];
    for (int i = 0; i < rf; i++) {
      replicas[i] = i;
    }
    return new AckCounter(ReplicaSet.of(replicas), level);
  }

  /** The next replica of {@code c} to answer: each answers once, in order. */
  private int next(AckCounter c) {
    return answered.merge(c, 1, Integer::sum) - 1;
  }

  @ParameterizedTest(name = "RF={0}: one={1} quorum={2} all={3}")
  @CsvSource({"1,1,1,1", "2,1,2,2", "3,1,2,3", "4,1,3,4", "5,1,3,5", "6,1,4,6"})
  void levelsRequireOneMajorityOrAll(int rf, int one, int quorum, int all) {
    assertEquals(one, Consistency.ONE.required(rf));
    assertEquals(quorum, Consistency.QUORUM.required(rf));
    assertEquals(all, Consistency.ALL.required(rf));
    // read and write quorums overlap: r + w > RF
    assertTrue(2 * quorum > rf);
  }

  @Test
  void quorumOfThreeIsDecidedOnTheSecondAck() {
    AckCounter c = counter(3, Consistency.QUORUM);
    assertFalse(c.decidedNow());
    c.ack(next(c));
    assertFalse(c.decidedNow());
    c.ack(next(c));
    assertTrue(c.decidedNow());
    assertTrue(c.met());
    assertEquals(2, c.acked());
    c.ack(next(c));
    assertFalse(c.decidedNow(), "decided only once");
    assertTrue(c.met());
  }

  @Test
  void quorumOfThreeSurvivesOneFailure() {
    AckCounter c = counter(3, Consistency.QUORUM);
    c.fail(next(c));
    assertFalse(c.decidedNow(), "two replicas left can still make a quorum");
    c.ack(next(c));
    assertFalse(c.decidedNow());
    c.ack(next(c));
    assertTrue(c.decidedNow());
    assertTrue(c.met());
  }

  @Test
  void quorumOfThreeFailsOnTheSecondFailure() {
    AckCounter c = counter(3, Consistency.QUORUM);
    c.ack(next(c));
    c.fail(next(c));
    assertFalse(c.decidedNow());
    c.fail(next(c));
    assertTrue(c.decidedNow());
    assertFalse(c.met());
    assertEquals(1, c.acked());
    c.ack(next(c));
    assertFalse(c.decidedNow(), "a late ack does not decide again");
  }

  @Test
  void allIsDecidedByTheFirstFailure() {
    AckCounter c = counter(3, Consistency.ALL);
    c.ack(next(c));
    c.ack(next(c));
    assertFalse(c.decidedNow());
    c.fail(next(c));
    assertTrue(c.decidedNow());
    assertFalse(c.met());
    assertEquals(2, c.acked());
    assertEquals(3, c.required());
  }

  @Test
  void oneIsDecidedByTheFirstAckAndFailsOnlyWhenEveryReplicaFailed() {
    AckCounter first = counter(3, Consistency.ONE);
    first.ack(next(first));
    assertTrue(first.decidedNow());
    assertTrue(first.met());

    AckCounter none = counter(3, Consistency.ONE);
    none.fail(next(none));
    assertFalse(none.decidedNow());
    none.fail(next(none));
    assertFalse(none.decidedNow());
    none.fail(next(none));
    assertTrue(none.decidedNow());
    assertFalse(none.met());
    assertEquals(0, none.acked());
  }

  @Test
  void everyOrderOfAnswersIsDecidedExactlyOnceWithTheRightVerdict() {
    for (int rf = 1; rf <= 5; rf++) {
      for (Consistency level : Consistency.values()) {
        int required = level.required(rf);
        for (int mask = 0; mask < (1 << rf); mask++) {
          AckCounter c = counter(rf, level);
          int decisions = 0;
          boolean verdict = false;
          int acks = 0;
          for (int i = 0; i < rf; i++) {
            if ((mask & (1 << i)) != 0) {
              c.ack(next(c));
              acks++;
            } else {
              c.fail(next(c));
            }
            if (c.decidedNow()) {
              decisions++;
              verdict = c.met();
            }
          }
          String what = "RF=" + rf + " " + level + " answers=" + Integer.toBinaryString(mask);
          assertEquals(1, decisions, what);
          assertEquals(acks >= required, verdict, what);
        }
      }
    }
  }

  @Test
  void aMetLevelIsAnsweredOnTheDecidingAck() {
    AckCounter c = counter(3, Consistency.QUORUM);
    c.ack(next(c));
    assertFalse(c.readyToAnswer());
    c.ack(next(c));
    assertTrue(c.readyToAnswer());
    c.fail(next(c));
    assertFalse(c.readyToAnswer(), "answered only once");
  }

  @Test
  void anUnmetLevelIsAnsweredOnlyWhenEveryReplicaSettledSoTheRefusalCountsAllAcks() {
    AckCounter c = counter(3, Consistency.ALL);
    c.fail(next(c)); // w=all with one replica down: decided at once ...
    assertTrue(c.decidedNow());
    assertFalse(c.readyToAnswer(), "... but the answer waits for the replicas still out");
    c.ack(next(c));
    assertFalse(c.readyToAnswer());
    c.ack(next(c));
    assertTrue(c.readyToAnswer());
    assertFalse(c.met());
    assertEquals(2, c.acked(), "the refusal reports both acks");
    assertFalse(c.readyToAnswer(), "answered only once");
  }

  @Test
  void duringAMembershipChangeAQuorumNeedsAMajorityOfTheCurrentAndOfTheNextReplicas() {
    ReplicaSet moving = ReplicaSet.joint(new int[] {0, 1, 2}, new int[] {0, 1, 3});
    assertEquals(4, moving.all().length);
    AckCounter c = new AckCounter(moving, Consistency.QUORUM);
    c.ack(2);
    c.ack(3);
    assertFalse(c.decidedNow(), "one current and one next replica are no majority of either");
    c.ack(1);
    assertTrue(c.decidedNow());
    assertTrue(c.met());

    AckCounter joiningAlone = new AckCounter(moving, Consistency.ONE);
    joiningAlone.ack(3);
    assertFalse(joiningAlone.met(), "a joining replica alone does not acknowledge a write");
    joiningAlone.ack(2);
    assertTrue(joiningAlone.met(), "at ONE a current replica is enough, as outside a change (local-first)");

    AckCounter lost = new AckCounter(moving, Consistency.QUORUM);
    lost.fail(0);
    lost.fail(3);
    assertTrue(lost.decidedNow(), "with 0 and 3 failed the next ring can no longer reach two");
    assertFalse(lost.met());
  }
}
