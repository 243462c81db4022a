package io.distributedsqlite.storage;

import java.util.List;

/** What the storage worker is asked to do; each runs inside a group-commit transaction. */
public sealed interface StorageCommand {
  /** Records counted against the group-commit batch bound. */
  int size();

  /**
   * Apply records with the merge rule; replies an {@link ApplyResult}: per record applied,
   * superseded by the newer version the store keeps, or refused as stamped beyond the future cap.
   */
  record Apply(List<Record> records) implements StorageCommand {
    public int size() {
      return records.size();
    }
  }

  /** Keep writes a replica did not acknowledge, to replay when it is back. */
  record StoreHints(int peer, List<Record> records) implements StorageCommand {
    public int size() {
      return records.size();
    }
  }

  /** Forget hints that were delivered. */
  record DeleteHints(int peer, List<Long> ids) implements StorageCommand {
    public int size() {
      return ids.size();
    }
  }

  /** Drop a peer's hints created before a time (outside the hint window). */
  record DropOldHints(int peer, long createdBeforeMillis) implements StorageCommand {
    public int size() {
      return 1;
    }
  }

  /**
   * Remove copies of keys this node does not replicate (strays); each only while its stored
   * version is still the listed one, so a newer write that arrived since is kept, and only while
   * {@code stray} still says its key is one (the membership view may have changed since the
   * records were listed). Replies the number removed.
   */
  record DropStrays(List<Record> records, java.util.function.Predicate<String> stray) implements StorageCommand {
    public int size() {
      return records.size();
    }
  }

  /**
   * Delete up to {@code limit} tombstones whose version is older than {@code beforeHlc}, oldest
   * first; replies {"purged": n, "purged_up_to": newest hlc ever purged}.
   */
  record PurgeTombstones(long beforeHlc, int limit) implements StorageCommand {
    public int size() {
      return 1;
    }
  }

  /**
   * Delete up to {@code limit} records whose TTL ran out before {@code expiredBeforeMillis}, soonest
   * expired first; replies {"purged": n, "purged_up_to": newest hlc ever purged}.
   */
  record PurgeExpired(long expiredBeforeMillis, int limit) implements StorageCommand {
    public int size() {
      return 1;
    }
  }

  /** Set a meta value of the node (in-touch time, stale flag, rebuilt flag). */
  record PutMeta(String name, String value) implements StorageCommand {
    public int size() {
      return 1;
    }
  }

  /**
   * Does nothing: its reply says that every command queued before it was committed. A node
   * streaming ranges waits for one before it reads its file.
   */
  record Barrier() implements StorageCommand {
    public int size() {
      return 1;
    }
  }

  /**
   * Feed every stored record's key, version and tombstone flag (no values) to {@code each}, after
   * {@code before} ran; between two commits, so no change is reported meanwhile. Rebuilds an index
   * kept by a change listener when what it derives from changes (the membership view). Replies the
   * number of records fed.
   */
  record Reindex(Runnable before, java.util.function.Consumer<Record> each) implements StorageCommand {
    public int size() {
      return 1;
    }
  }
}
