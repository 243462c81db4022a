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
