package io.distributedsqlite.read;

import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.storage.Record;
import java.util.List;

/**
 * A scan page: the live records in key order (values null when not asked for), the key to
 * continue after (null: the range is done), and the counts behind it: nodes asked and answered,
 * the replicas every token range needed ({@code required}) and the fewest any range had
 * ({@code weakest}); {@code repaired} stale copies were sent the newest version.
 */
public record ScanOutcome(List<Record> items, String cursor, Consistency level, int asked, int answered,
    int required, int weakest, int repaired) {
  public boolean met() {
    return weakest >= required;
  }
}
