package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.distributedsqlite.cluster.BucketDiff;
import io.distributedsqlite.storage.BucketPosition;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.Version;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The bucket diff as a pure function: two sorted listings in, keys to push and to pull out. */
class BucketDiffTest {

  private static Record rec(String key, long millis) {
    return Record.write(key, null, Version.of(millis, 0, 1), 0);
  }

  private static Record tomb(String key, long millis) {
    return Record.tombstone(key, Version.of(millis, 0, 1));
  }

  /** A listing as it comes from a node: in bucket, then key order. */
  private static List<Record> sorted(Record... records) {
    List<Record> out = new ArrayList<>(List.of(records));
    out.sort(Comparator.comparing(r -> BucketPosition.of(r.key())));
    return out;
  }

  private static Set<String> set(List<String> keys) {
    return new HashSet<>(keys);
  }

  @Test
  void bothSidesEmptyMoveNothing() {
    BucketDiff.Result r = BucketDiff.between(List.of(), List.of(), null);
    assertEquals(List.of(), r.push());
    assertEquals(List.of(), r.pull());
    assertEquals(0, r.mineUsed());
    assertEquals(0, r.theirsUsed());
  }

  @Test
  void anEmptyPeerIsSentEverythingAndAnEmptyNodePullsEverything() {
    List<Record> some = sorted(rec("a", 1), rec("b", 2), tomb("c", 3));
    BucketDiff.Result toEmptyPeer = BucketDiff.between(some, List.of(), null);
    assertEquals(Set.of("a", "b", "c"), set(toEmptyPeer.push()));
    assertEquals(List.of(), toEmptyPeer.pull());
    assertEquals(3, toEmptyPeer.mineUsed());

    BucketDiff.Result fromPeer = BucketDiff.between(List.of(), some, null);
    assertEquals(List.of(), fromPeer.push());
    assertEquals(Set.of("a", "b", "c"), set(fromPeer.pull()));
    assertEquals(3, fromPeer.theirsUsed());
  }

  @Test
  void equalVersionsMoveNothing() {
    List<Record> mine = sorted(rec("a", 5), tomb("b", 6));
    List<Record> theirs = sorted(rec("a", 5), tomb("b", 6));
    BucketDiff.Result r = BucketDiff.between(mine, theirs, null);
    assertEquals(List.of(), r.push());
    assertEquals(List.of(), r.pull());
    assertEquals(2, r.mineUsed());
    assertEquals(2, r.theirsUsed());
  }

  @Test
  void theNewerVersionMovesWhicheverSideHoldsIt() {
    List<Record> mine = sorted(rec("a", 9), rec("b", 1), rec("c", 5));
    List<Record> theirs = sorted(rec("a", 2), rec("b", 7), Record.write("c", null, Version.of(5, 0, 2), 0));
    BucketDiff.Result r = BucketDiff.between(mine, theirs, null);
    assertEquals(List.of("a"), r.push());
    // same millis and counter: the higher node id is the newer version
    assertEquals(Set.of("b", "c"), set(r.pull()));
  }

  @Test
  void tombstonesAreVersionsLikeAnyOther() {
    // a newer delete is pushed over an older value; an older tombstone loses to a newer write
    List<Record> mine = sorted(tomb("deleted-here", 10), tomb("old-delete", 1));
    List<Record> theirs = sorted(rec("deleted-here", 3), rec("old-delete", 4), tomb("only-theirs", 2));
    BucketDiff.Result r = BucketDiff.between(mine, theirs, null);
    assertEquals(List.of("deleted-here"), r.push());
    assertEquals(Set.of("old-delete", "only-theirs"), set(r.pull()));
  }

  @Test
  void keysOnlyOnOneSideGoToTheOther() {
    List<Record> mine = sorted(rec("shared", 1), rec("mine-1", 1), rec("mine-2", 1));
    List<Record> theirs = sorted(rec("shared", 1), rec("theirs-1", 1));
    BucketDiff.Result r = BucketDiff.between(mine, theirs, null);
    assertEquals(Set.of("mine-1", "mine-2"), set(r.push()));
    assertEquals(List.of("theirs-1"), r.pull());
  }

  @Test
  void recordsAfterTheBoundAreLeftForTheNextPage() {
    List<Record> mine = sorted(rec("k1", 1), rec("k2", 1), rec("k3", 1), rec("k4", 1));
    List<Record> theirs = sorted(rec("k1", 2), rec("k2", 1));
    // their page ended at their second record: nothing after it is known on their side yet
    BucketPosition bound = BucketPosition.of(theirs.get(1).key());
    BucketDiff.Result r = BucketDiff.between(mine, theirs, bound);
    int known = 0;
    for (Record m : mine) {
      known += BucketPosition.of(m.key()).compareTo(bound) <= 0 ? 1 : 0;
    }
    assertEquals(known, r.mineUsed(), "only records up to the bound are compared");
    assertEquals(2, r.theirsUsed());
    for (String k : r.push()) {
      assertEquals(true, BucketPosition.of(k).compareTo(bound) <= 0, "pushed a key past the bound: " + k);
    }
    assertEquals(List.of("k1"), r.pull());
  }

  @Test
  void aBoundBeforeEveryRecordComparesNothing() {
    List<Record> mine = sorted(rec("x", 1));
    List<Record> theirs = sorted(rec("y", 1));
    BucketPosition before = new BucketPosition(-1, "");
    BucketDiff.Result r = BucketDiff.between(mine, theirs, before);
    assertEquals(0, r.mineUsed());
    assertEquals(0, r.theirsUsed());
    assertEquals(List.of(), r.push());
    assertEquals(List.of(), r.pull());
  }

  /**
   * Listings arriving in pages of any size, walked as a repair round walks them (each side's
   * unused tail kept, the bound the lesser of the two positions listed so far), move exactly what
   * one comparison of the whole listings moves: no key is missed or moved twice at a page boundary.
   */
  @Test
  void pagedWalkMovesWhatTheWholeComparisonMoves() {
    Random random = new Random(42);
    for (int trial = 0; trial < 200; trial++) {
      List<Record> mine = new ArrayList<>();
      List<Record> theirs = new ArrayList<>();
      int keys = random.nextInt(60);
      for (int i = 0; i < keys; i++) {
        String key = "key-" + random.nextInt(1000) + "-" + i;
        int where = random.nextInt(5);
        long v = 1 + random.nextInt(3);
        boolean tombstone = random.nextInt(4) == 0;
        Record a = tombstone ? tomb(key, v) : rec(key, v);
        Record b = random.nextBoolean() ? rec(key, 1 + random.nextInt(3)) : tomb(key, 1 + random.nextInt(3));
        if (where != 1) {
          mine.add(a);
        }
        if (where != 0) {
          theirs.add(where == 2 ? a : b);
        }
      }
      mine = sorted(mine.toArray(new Record[0]));
      theirs = sorted(theirs.toArray(new Record[0]));
      BucketDiff.Result whole = BucketDiff.between(mine, theirs, null);

      int myPage = 1 + random.nextInt(7);
      int theirPage = 1 + random.nextInt(7);
      List<String> push = new ArrayList<>();
      List<String> pull = new ArrayList<>();
      walkInPages(mine, theirs, myPage, theirPage, push, pull);
      assertEquals(whole.push(), push, "pushes with pages of " + myPage + " and " + theirPage);
      assertEquals(whole.pull(), pull, "pulls with pages of " + myPage + " and " + theirPage);
    }
  }

  private static void walkInPages(List<Record> mineAll, List<Record> theirsAll, int myPage, int theirPage,
      List<String> push, List<String> pull) {
    Listing mine = new Listing(mineAll, myPage);
    Listing theirs = new Listing(theirsAll, theirPage);
    while (true) {
      mine.fetchIfEmpty();
      theirs.fetchIfEmpty();
      BucketPosition bound = mine.done ? (theirs.done ? null : theirs.next)
          : theirs.done || mine.next.compareTo(theirs.next) <= 0 ? mine.next : theirs.next;
      BucketDiff.Result r = BucketDiff.between(mine.held, theirs.held, bound);
      push.addAll(r.push());
      pull.addAll(r.pull());
      mine.held = new ArrayList<>(mine.held.subList(r.mineUsed(), mine.held.size()));
      theirs.held = new ArrayList<>(theirs.held.subList(r.theirsUsed(), theirs.held.size()));
      if (mine.done && theirs.done && mine.held.isEmpty() && theirs.held.isEmpty()) {
        return;
      }
    }
  }

  /** One side's listing, served in pages as a node serves it: a full page names where the next starts, a short one is the last. */
  private static final class Listing {
    final List<Record> all;
    final int page;
    List<Record> held = new ArrayList<>();
    int at;
    BucketPosition next;
    boolean done;

    Listing(List<Record> all, int page) {
      this.all = all;
      this.page = page;
    }

    void fetchIfEmpty() {
      if (done || !held.isEmpty()) {
        return;
      }
      int end = Math.min(all.size(), at + page);
      held.addAll(all.subList(at, end));
      done = end - at < page;
      next = done ? null : BucketPosition.of(all.get(end - 1).key());
      at = end;
    }
  }
}
