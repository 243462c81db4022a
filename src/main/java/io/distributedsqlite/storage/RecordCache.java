package io.distributedsqlite.storage;

import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * This node's recently read records in memory, so a hot key is answered without a trip to a
 * read connection. It never holds anything older than the database: readers fill it with what
 * they read, the storage worker updates a cached key after every commit that changes it, and a
 * fill loses against any commit or eviction of the same key that happened since the reader
 * started (checked with a per-stripe sequence: {@link #stamp} before the read, {@link #fill} after).
 * Known-absent keys are cached too. Tombstones and expired records are kept as they are stored;
 * callers apply the read rules.
 *
 * <p>Bounded by {@code maxBytes} of approximate heap (key and value text plus a fixed overhead
 * per entry); when full, arbitrary entries are dropped until it is at 90 %. {@code maxBytes} 0 turns the cache off.
 */
public final class RecordCache implements ChangeListener {
  private static final int STRIPES = 4096;
  /** Heap an entry costs beyond its key and value text: map node, entry, record, version, string headers. */
  private static final int ENTRY_OVERHEAD = 192;

  /** What the cache knows of a key: its stored record, or {@code record == null} for none. */
  public record Entry(Record record) {
    int weight(String key) {
      return ENTRY_OVERHEAD + key.length() + (record == null || record.value() == null ? 0 : record.value().length());
    }
  }

  private final long maxBytes;
  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLongArray changes = new AtomicLongArray(STRIPES);
  private final ReentrantLock evicting = new ReentrantLock();
  private final AtomicLong hits = new AtomicLong();
  private final AtomicLong misses = new AtomicLong();

  public RecordCache(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** The cached entry for {@code key} (counted as a hit), or null when the cache does not know it. */
  public Entry lookup(String key) {
    if (maxBytes == 0) {
      return null;
    }
    Entry e = entries.get(key);
    if (e != null) {
      hits.incrementAndGet();
    }
    return e;
  }

  /**
   * Counts keys that were read from the database. Callers may look a key up more than once
   * before reading it, so misses are counted where the read happens, not in {@link #lookup}.
   */
  public void missed(int keys) {
    misses.addAndGet(keys);
  }

  /** Taken before reading {@code key} from the database; hand it to {@link #fill}. */
  public long stamp(String key) {
    return changes.get(stripe(key));
  }

  /**
   * Caches what a reader found for {@code key} ({@code stored} null: no row), unless the key
   * changed or was evicted since {@code stamp}. A newer cached version is never replaced.
   */
  public void fill(String key, Record stored, long stamp) {
    if (maxBytes == 0) {
      return;
    }
    Entry fresh = new Entry(stored);
    entries.compute(key, (k, old) -> {
      if (changes.get(stripe(k)) != stamp) {
        return old;
      }
      if (old != null && (stored == null || !stored.supersedes(old.record()))) {
        return old;
      }
      bytes.addAndGet(fresh.weight(k) - (old == null ? 0 : old.weight(k)));
      return fresh;
    });
    evictIfFull();
  }

  /**
   * After a commit (storage worker): a cached key takes the committed record; any other key's
   * stripe moves on, so a fill that read the database before this commit is dropped.
   */
  @Override
  public void changed(Record previous, Record current) {
    if (maxBytes == 0) {
      return;
    }
    String key = current != null ? current.key() : previous.key();
    // Stripe first: a fill that gets the key's lock after this is refused; one that got it
    // before left an entry that the update below replaces.
    changes.incrementAndGet(stripe(key));
    entries.computeIfPresent(key, (k, old) -> {
      Entry next = current == null ? null : new Entry(current);
      bytes.addAndGet((next == null ? 0 : next.weight(k)) - old.weight(k));
      return next;
    });
  }

  public long hits() {
    return hits.get();
  }

  public long misses() {
    return misses.get();
  }

  public long bytes() {
    return bytes.get();
  }

  public int size() {
    return entries.size();
  }

  private void evictIfFull() {
    if (bytes.get() <= maxBytes || !evicting.tryLock()) {
      return;
    }
    try {
      long target = maxBytes / 10 * 9;
      Iterator<String> it = entries.keySet().iterator();
      while (bytes.get() > target && it.hasNext()) {
        String key = it.next();
        changes.incrementAndGet(stripe(key));
        Entry gone = entries.remove(key);
        if (gone != null) {
          bytes.addAndGet(-gone.weight(key));
        }
      }
    } finally {
      evicting.unlock();
    }
  }

  private static int stripe(String key) {
    int h = key.hashCode();
    return (h ^ (h >>> 16)) & (STRIPES - 1);
  }
}
