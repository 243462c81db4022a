package io.distributedsqlite.storage;

import java.util.List;

/**
 * One node's records (tombstones and expired records included) in key order after a position in
 * a {@link KeyRange}. {@code complete}: the node has no further key in the range, so it has
 * answered for every key up to the range's end; otherwise only up to its last record's key.
 */
public record ScanPage(List<Record> records, boolean complete) {
  /** The last key this page answers for; null when it answers for the whole rest of the range. */
  public String coveredThrough() {
    return complete ? null : records.get(records.size() - 1).key();
  }
}
