package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.cluster.Placement;
import io.distributedsqlite.cluster.Ring;
import io.distributedsqlite.cluster.ScanPlan;
import io.distributedsqlite.storage.KeyRange;
import java.util.BitSet;
import org.junit.jupiter.api.Test;

/** Key order as SQLite sorts UTF-8, prefix ranges, and when a scan's answers cover the ring. */
class KeyRangeTest {
  @Test
  void keyOrderIsCodePointOrderLikeSqliteNotJavaUtf16Order() {
    String supplementary = new String(Character.toChars(0x1F600)); // UTF-16 D83D DE00
    String privateUse = "\uE000";
    assertTrue(supplementary.compareTo(privateUse) < 0, "Java's order puts the surrogate pair first");
    assertTrue(KeyRange.compare(privateUse, supplementary) < 0, "UTF-8 byte order puts U+E000 first");
    assertTrue(KeyRange.compare("a", "ab") < 0);
    assertEquals(0, KeyRange.compare("same", "same"));
  }

  @Test
  void aPrefixRangeHoldsExactlyTheKeysWithThatPrefix() {
    KeyRange r = KeyRange.prefix("user:");
    assertEquals("user;", r.end());
    assertTrue(r.contains("user:"));
    assertTrue(r.contains("user:\uFFFF"));
    assertTrue(r.contains("user:" + new String(Character.toChars(0x10FFFF))));
    assertFalse(r.contains("user;"));
    assertFalse(r.contains("user"));
    assertEquals("a\uE000", KeyRange.prefix("a\uD7FF").end(), "the successor skips the surrogate range");
    String max = new String(Character.toChars(0x10FFFF));
    assertEquals("b", KeyRange.prefix("a" + max).end());
    assertNull(KeyRange.prefix(max).end(), "no string follows every string starting with U+10FFFF");
    assertEquals(KeyRange.ALL, KeyRange.prefix(""));
    assertTrue(new KeyRange("b", "a").isEmpty());
  }

  @Test
  void answersCoverTheRingWhenEveryRangeHasEnoughOfItsReplicas() {
    ScanPlan plan = new ScanPlan(new Placement(new Ring(4, 3)));
    BitSet all = new BitSet();
    all.set(0, 4);
    assertEquals(3, plan.weakestRange(all));
    BitSet oneDown = (BitSet) all.clone();
    oneDown.clear(3);
    assertTrue(plan.covers(oneDown, 2), "quorum with one node of four down");
    assertFalse(plan.covers(oneDown, 3), "all needs every replica");
    BitSet twoDown = (BitSet) oneDown.clone();
    twoDown.clear(2);
    assertFalse(plan.covers(twoDown, 2), "some range has both of 2 and 3 among its replicas");
    assertTrue(plan.covers(twoDown, 1), "every range of 4 nodes RF=3 keeps one of 0 and 1");
    assertEquals(4, plan.nodesToAsk().length);
  }
}
