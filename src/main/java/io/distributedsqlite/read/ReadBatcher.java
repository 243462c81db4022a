package io.distributedsqlite.read;

import io.distributedsqlite.cluster.Batcher;
import io.distributedsqlite.storage.Record;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Point reads against one replica (this node's read pool, or one peer's {@code /internal/read})
 * as a {@link Batcher}: while {@link #MAX_IN_FLIGHT} fetch is out, new keys wait and go together
 * in the next fetch (up to {@link #MAX_BATCH} keys), and callers waiting for the same key share
 * one place in it. An idle replica is asked at once; a busy one gets one request for many client
 * reads. One fetch in flight rather than two, so batches are twice as large: under load that
 * saves more CPU per read than the wait for the previous fetch adds. Each caller gets the
 * replica's record for its key (tombstones included), or null when it has none.
 */
final class ReadBatcher extends Batcher<String, Record> {
  static final int MAX_IN_FLIGHT = 1;
  static final int MAX_BATCH = 128;

  /** {@code fetch}: the records the replica has of some keys, in any order, absent keys left out. */
  ReadBatcher(Function<List<String>, Future<List<Record>>> fetch) {
    super(keys -> fetch.apply(keys).map(found -> byKey(keys, found)),
        Batcher.Limits.<String>of(MAX_IN_FLIGHT, MAX_BATCH).coalescingEqualItems());
  }

  /** One entry per key, in the order of {@code keys}: its record, or null. */
  private static List<Record> byKey(List<String> keys, List<Record> found) {
    Map<String, Record> byKey = new HashMap<>(found.size() * 2);
    for (Record r : found) {
      byKey.put(r.key(), r);
    }
    List<Record> out = new ArrayList<>(keys.size());
    for (String key : keys) {
      out.add(byKey.get(key));
    }
    return out;
  }
}
