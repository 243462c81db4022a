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
    AckCounter c = new AckCounter(3, 2);
    assertFalse(c.decidedNow());
    c.ack();
    assertFalse(c.decidedNow());
    c.ack();
    assertTrue(c.decidedNow());
    assertTrue(c.met());
    assertEquals(2, c.acked());
    c.ack();
    assertFalse(c.decidedNow(), "decided only once");
    assertTrue(c.met());
  }

  @Test
  void quorumOfThreeSurvivesOneFailure() {
    AckCounter c = new AckCounter(3, 2);
    c.fail();
    assertFalse(c.decidedNow(), "two replicas left can still make a quorum");
    c.ack();
    assertFalse(c.decidedNow());
    c.ack();
    assertTrue(c.decidedNow());
    assertTrue(c.met());
  }

  @Test
  void quorumOfThreeFailsOnTheSecondFailure() {
    AckCounter c = new AckCounter(3, 2);
    c.ack();
    c.fail();
    assertFalse(c.decidedNow());
    c.fail();
    assertTrue(c.decidedNow());
    assertFalse(c.met());
    assertEquals(1, c.acked());
    c.ack();
    assertFalse(c.decidedNow(), "a late ack does not decide again");
  }

  @Test
  void allIsDecidedByTheFirstFailure() {
    AckCounter c = new AckCounter(3, 3);
    c.ack();
    c.ack();
    assertFalse(c.decidedNow());
    c.fail();
    assertTrue(c.decidedNow());
    assertFalse(c.met());
    assertEquals(2, c.acked());
    assertEquals(3, c.required());
  }

  @Test
  void oneIsDecidedByTheFirstAckAndFailsOnlyWhenEveryReplicaFailed() {
    AckCounter first = new AckCounter(3, 1);
    first.ack();
    assertTrue(first.decidedNow());
    assertTrue(first.met());

    AckCounter none = new AckCounter(3, 1);
    none.fail();
    assertFalse(none.decidedNow());
    none.fail();
    assertFalse(none.decidedNow());
    none.fail();
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
          AckCounter c = new AckCounter(rf, required);
          int decisions = 0;
          boolean verdict = false;
          int acks = 0;
          for (int i = 0; i < rf; i++) {
            if ((mask & (1 << i)) != 0) {
              c.ack();
              acks++;
            } else {
              c.fail();
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
    AckCounter c = new AckCounter(3, 2);
    c.ack();
    assertFalse(c.readyToAnswer());
    c.ack();
    assertTrue(c.readyToAnswer());
    c.fail();
    assertFalse(c.readyToAnswer(), "answered only once");
  }

  @Test
  void anUnmetLevelIsAnsweredOnlyWhenEveryReplicaSettledSoTheRefusalCountsAllAcks() {
    AckCounter c = new AckCounter(3, 3);
    c.fail(); // w=all with one replica down: decided at once ...
    assertTrue(c.decidedNow());
    assertFalse(c.readyToAnswer(), "... but the answer waits for the replicas still out");
    c.ack();
    assertFalse(c.readyToAnswer());
    c.ack();
    assertTrue(c.readyToAnswer());
    assertFalse(c.met());
    assertEquals(2, c.acked(), "the refusal reports both acks");
    assertFalse(c.readyToAnswer(), "answered only once");
  }
}
