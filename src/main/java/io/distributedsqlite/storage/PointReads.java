package io.distributedsqlite.storage;

import io.agroal.api.AgroalDataSource;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;

/**
 * Point reads by key on their own worker threads, each lookup one execution of a statement
 * prepared once per connection. As many connections as threads, held for the node's lifetime, so
 * taking one never waits. A batch of keys costs one hop to a worker and one lookup per key.
 */
final class PointReads implements AutoCloseable {
  private static final String SELECT = "SELECT value, hlc, node, tombstone, expires_at FROM kv WHERE key = ?";
  private static final AtomicInteger EXECUTORS = new AtomicInteger();

  /** A read-only connection and its prepared lookup; used by one thread at a time. */
  private static final class Lookup {
    final Connection connection;
    PreparedStatement select;

    Lookup(Connection connection) throws SQLException {
      this.connection = connection;
      this.select = connection.prepareStatement(SELECT);
    }

    Record read(String key) throws SQLException {
      select.setString(1, key);
      try (ResultSet rs = select.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        return new Record(key, rs.getString(1), new Version(rs.getLong(2), rs.getInt(3)), rs.getInt(4) != 0, rs.getLong(5));
      }
    }

    /** After a failed read the driver's statement state is not trusted: prepare it again. */
    void reprepare() {
      try {
        select.close();
        select = connection.prepareStatement(SELECT);
      } catch (SQLException ignored) {
        // The next read fails again and reports it.
      }
    }
  }

  private final WorkerExecutor executor;
  private final ArrayBlockingQueue<Lookup> idle;
  private final RecordCache cache;

  private PointReads(WorkerExecutor executor, ArrayBlockingQueue<Lookup> idle, RecordCache cache) {
    this.executor = executor;
    this.idle = idle;
    this.cache = cache;
  }

  static PointReads open(Vertx vertx, AgroalDataSource dataSource, int threads, RecordCache cache) throws SQLException {
    ArrayBlockingQueue<Lookup> idle = new ArrayBlockingQueue<>(threads);
    try {
      for (int i = 0; i < threads; i++) {
        idle.add(new Lookup(dataSource.getConnection()));
      }
    } catch (SQLException e) {
      idle.forEach(PointReads::closeQuietly);
      throw e;
    }
    WorkerExecutor executor = vertx.createSharedWorkerExecutor("dsqlite-point-reads-" + EXECUTORS.incrementAndGet(), threads);
    return new PointReads(executor, idle, cache);
  }

  /** The stored records (tombstones and expired ones included) of those keys that exist; each read fills the cache. */
  Future<List<Record>> records(List<String> keys) {
    return records(keys, Long.MAX_VALUE, r -> 0, true).map(RecordReader.Served::records);
  }

  /**
   * Like {@link #records(List)}, in the order of {@code keys}, but stops before the record that
   * would take the records' {@code size} beyond {@code maxBytes} (the first is always kept): it
   * and the keys after it are left unserved. Holds at most one record beyond the bound. Without
   * {@code fill} the records read are not put in the cache (repair traffic must not evict what
   * clients read).
   */
  Future<RecordReader.Served> records(List<String> keys, long maxBytes, ToIntFunction<Record> size, boolean fill) {
    if (keys.isEmpty()) {
      return Future.succeededFuture(new RecordReader.Served(new ArrayList<>(), List.of()));
    }
    return executor.executeBlocking(() -> {
      Lookup lookup = idle.take();
      try {
        List<Record> out = new ArrayList<>(keys.size());
        long bytes = 0;
        for (int i = 0; i < keys.size(); i++) {
          String key = keys.get(i);
          long stamp = fill ? cache.stamp(key) : 0;
          Record r = lookup.read(key);
          if (fill) {
            cache.fill(key, r, stamp);
          }
          if (r != null) {
            int n = size.applyAsInt(r);
            if (!out.isEmpty() && bytes + n > maxBytes) {
              return new RecordReader.Served(out, List.copyOf(keys.subList(i, keys.size())));
            }
            bytes += n;
            out.add(r);
          }
        }
        return new RecordReader.Served(out, List.of());
      } catch (SQLException e) {
        lookup.reprepare();
        throw e;
      } finally {
        idle.add(lookup);
      }
    }, false);
  }

  /**
   * Up to {@code limit} rows after {@code after} (null: from the first) in key order; of those,
   * the records whose key {@code keep} accepts, with their values, until their bytes reach
   * {@code maxBytes} (the first kept record always). Plain JDBC on a point-read connection: the
   * pooled client's per-row decoding costs a multiple of this on large pages. {@code last} is the
   * last key looked at (where the next page starts), null when the table ended.
   */
  Future<RecordReader.KeyPage> page(String after, int limit, java.util.function.Predicate<String> keep, long maxBytes) {
    return executor.executeBlocking(() -> {
      Lookup lookup = idle.take();
      String sql = "SELECT key, tombstone, value, hlc, node, expires_at FROM kv" + (after == null ? "" : " WHERE key > ?")
          + " ORDER BY key LIMIT ?";
      try (PreparedStatement ps = lookup.connection.prepareStatement(sql)) {
        int i = 1;
        if (after != null) {
          ps.setString(i++, after);
        }
        ps.setInt(i, limit);
        List<Record> out = new ArrayList<>();
        String last = null;
        int rows = 0;
        long bytes = 0;
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            String key = rs.getString(1);
            if (keep.test(key)) {
              boolean tombstone = rs.getInt(2) != 0;
              Record r = new Record(key, tombstone ? null : rs.getString(3), new Version(rs.getLong(4), rs.getInt(5)), tombstone,
                  rs.getLong(6));
              long n = 64 + key.length() + (r.value() == null ? 0 : r.value().length());
              if (!out.isEmpty() && bytes + n > maxBytes) {
                return new RecordReader.KeyPage(out, last);
              }
              bytes += n;
              out.add(r);
            }
            last = key;
            rows++;
          }
        }
        return new RecordReader.KeyPage(out, rows < limit ? null : last);
      } finally {
        idle.add(lookup);
      }
    }, false);
  }

  @Override
  public void close() {
    executor.close();
    Lookup l;
    while ((l = idle.poll()) != null) {
      closeQuietly(l);
    }
  }

  private static void closeQuietly(Lookup l) {
    try {
      l.select.close();
      l.connection.close();
    } catch (SQLException ignored) {
      // closing a read-only connection; nothing to save
    }
  }
}
