package io.distributedsqlite.storage;

import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;

/**
 * Runs one {@link StorageCommand} on the store's open transaction and says what it did; each key
 * it changes is added to {@code changes}, to be reported once the transaction committed. Used by
 * {@link BatchTransaction} on the storage worker thread only.
 */
final class CommandExecutor {
  private final SqliteStore store;
  private final HybridLogicalClock clock;
  private final int hintMaxPerPeer;

  CommandExecutor(SqliteStore store, HybridLogicalClock clock, int hintMaxPerPeer) {
    this.store = store;
    this.clock = clock;
    this.hintMaxPerPeer = hintMaxPerPeer;
  }

  CommandResult execute(StorageCommand cmd, List<Change> changes) throws SQLException {
    long now = clock.wallMillis();
    if (cmd instanceof StorageCommand.Apply a) {
      return new CommandResult.Applied(apply(a.records(), changes));
    }
    if (cmd instanceof StorageCommand.StoreHints h) {
      int kept = 0;
      for (Record r : h.records()) {
        kept += store.storeHint(h.peer(), r, now, hintMaxPerPeer) ? 1 : 0;
      }
      return new CommandResult.HintsStored(h.records().size(), kept);
    }
    if (cmd instanceof StorageCommand.DeleteHints d) {
      store.deleteHints(d.peer(), d.ids());
      return new CommandResult.Counted(d.ids().size());
    }
    if (cmd instanceof StorageCommand.DropOldHints d) {
      return new CommandResult.Counted(store.dropHintsOlderThan(d.peer(), d.createdBeforeMillis()));
    }
    if (cmd instanceof StorageCommand.DropStrays d) {
      int dropped = 0;
      for (Record r : d.records()) {
        if (d.stray().test(r.key()) && store.deleteIfVersion(r)) {
          dropped++;
          changes.add(new Change(r, null));
        }
      }
      return new CommandResult.Counted(dropped);
    }
    if (cmd instanceof StorageCommand.PutMeta m) {
      store.putMeta(m.name(), m.value());
      return new CommandResult.Counted(1);
    }
    if (cmd instanceof StorageCommand.PurgeTombstones p) {
      List<Record> purged = store.purgeTombstonesBefore(p.beforeHlc(), p.limit());
      for (Record r : purged) {
        changes.add(new Change(r, null));
      }
      return new CommandResult.Purged(purged.size(), store.purgedUpTo());
    }
    if (cmd instanceof StorageCommand.PurgeExpired p) {
      List<Record> purged = store.purgeExpiredBefore(p.expiredBeforeMillis(), p.limit());
      for (Record r : purged) {
        changes.add(new Change(r, null));
      }
      return new CommandResult.Purged(purged.size(), store.purgedUpTo());
    }
    if (cmd instanceof StorageCommand.Barrier) {
      return new CommandResult.Counted(0);
    }
    if (cmd instanceof StorageCommand.Reindex x) {
      x.before().run();
      long[] n = {0};
      store.forEachVersion(r -> {
        x.each().accept(r);
        n[0]++;
      });
      return new CommandResult.Counted((int) n[0]);
    }
    // StorageCommand is sealed and every kind is handled above; Java 17 has no exhaustive type switch.
    throw new IllegalArgumentException("unknown storage command " + cmd);
  }

  /**
   * The storage boundary of every write path (client writes, /internal/apply, read repair, hint
   * replay, anti-entropy): per record, one stamped beyond the future cap is refused (not stored,
   * not observed, so neither the clock nor the persisted high-water mark moves); any other moves
   * the clock past its version and is merged. A record that loses to the stored version reports
   * that version, so its coordinator can re-stamp the write.
   */
  private ApplyResult apply(List<Record> records, List<Change> changes) throws SQLException {
    ApplyResult.Outcome[] out = new ApplyResult.Outcome[records.size()];
    for (int i = 0; i < out.length; i++) {
      Record r = store.storedForm(records.get(i)); // listeners (the record cache) get what a read of the file returns
      if (!clock.observe(r.version())) {
        out[i] = ApplyResult.Outcome.REFUSED_FUTURE;
        continue;
      }
      Record previous = store.apply(r);
      if (previous != r) {
        out[i] = ApplyResult.Outcome.APPLIED;
        changes.add(new Change(previous, r));
        continue;
      }
      // Rare: the store kept a version at least as new. Equal means this very write was already here.
      Record kept = store.current(r.key());
      out[i] = kept != null && kept.version().isNewerThan(r.version())
          ? ApplyResult.Outcome.supersededBy(kept.version()) : ApplyResult.Outcome.APPLIED;
    }
    return new ApplyResult(Arrays.asList(out));
  }
}
