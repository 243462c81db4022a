package io.distributedsqlite.storage;

import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.jdbcclient.JDBCPool;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * Reads from an Agroal pool of read-only SQLite connections; WAL mode lets them run beside the
 * single writer without blocking it or being blocked by it. Scans (hints, anti-entropy buckets)
 * go through the Vert.x JDBC client. Point reads by key, the hot path of every client read, go
 * through {@link PointReads}: one prepared statement per connection on a small worker pool,
 * because the JDBC client's per-query machinery costs several times the lookup itself.
 */
public final class RecordReader implements AutoCloseable {
  /** Bytes a hint counts for besides its key and value, in {@link #hints(int, int, long)}. */
  public static final int RECORD_BYTES = 128;
  private static final String SQLITE_OPEN_READONLY = "1";

  private final AgroalDataSource dataSource;
  private final Pool pool;
  private final PointReads points;
  private final RecordCache cache;

  private RecordReader(AgroalDataSource dataSource, Pool pool, PointReads points, RecordCache cache) {
    this.dataSource = dataSource;
    this.pool = pool;
    this.points = points;
    this.cache = cache;
  }

  /** Opens the read pool on a database the {@link SqliteStore} has already created. */
  public static RecordReader open(Vertx vertx, Path dataDir, int poolSize, RecordCache cache) throws SQLException {
    return open(vertx, dataDir, poolSize, cache, SqliteStore.DEFAULT_CACHE_KIB);
  }

  /** As {@link #open(Vertx, Path, int, RecordCache)}, each connection's page cache at most {@code cacheKib} KiB. */
  public static RecordReader open(Vertx vertx, Path dataDir, int poolSize, RecordCache cache, int cacheKib) throws SQLException {
    String url = "jdbc:sqlite:" + dataDir.resolve(SqliteStore.FILE_NAME);
    AgroalDataSourceConfigurationSupplier cfg = new AgroalDataSourceConfigurationSupplier()
        .connectionPoolConfiguration(cp -> cp
            .initialSize(1)
            .minSize(1)
            .maxSize(poolSize * 2)
            .acquisitionTimeout(Duration.ofSeconds(5))
            .connectionFactoryConfiguration(cf -> cf
                .jdbcUrl(url)
                .connectionProviderClass(org.sqlite.JDBC.class)
                .autoCommit(true)
                .jdbcProperty("open_mode", SQLITE_OPEN_READONLY)
                .jdbcProperty("busy_timeout", "5000")
                .jdbcProperty("cache_size", Integer.toString(-cacheKib))));
    AgroalDataSource ds = AgroalDataSource.from(cfg);
    Pool pool = JDBCPool.pool(vertx, ds, new PoolOptions().setMaxSize(poolSize));
    try {
      return new RecordReader(ds, pool, PointReads.open(vertx, ds, poolSize, cache), cache);
    } catch (SQLException e) {
      pool.close();
      ds.close();
      throw e;
    }
  }

  /** This node's stored record for {@code key}, tombstones and expired records included; null if none. */
  public Future<Record> get(String key) {
    return records(List.of(key)).map(list -> list.isEmpty() ? null : list.get(0));
  }

  /**
   * What the record cache knows of {@code key} (counted as a hit): its record, or a record of
   * null when it has none. Null on a miss: read the key with {@link #uncachedRecords}, which does
   * not look it up again.
   */
  public RecordCache.Entry cached(String key) {
    return cache.lookup(key);
  }

  /**
   * As {@link #records(List)} for keys that {@link #cached} just missed: straight to the read
   * pool (filling the cache), without a second cache lookup.
   */
  public Future<List<Record>> uncachedRecords(List<String> keys) {
    cache.missed(keys.size());
    return points.records(keys);
  }

  /** Records of one {@link #keyPage} and the key the next page starts after (null: the table ended). */
  public record KeyPage(List<Record> records, String last) {}

  /**
   * The records, values included, of the keys {@code keep} accepts among the next {@code limit}
   * keys after {@code after} (null: from the first), within about {@code maxBytes}; what a node
   * streams to another when the membership changes.
   */
  public Future<KeyPage> keyPage(String after, int limit, java.util.function.Predicate<String> keep, long maxBytes) {
    return points.page(after, limit, keep, maxBytes);
  }

  /** Up to {@code limit} of a peer's hints, oldest version first. */
  public Future<List<Hint>> hints(int peer, int limit) {
    return hints(peer, limit, Long.MAX_VALUE);
  }

  /**
   * Up to {@code limit} of a peer's hints, oldest version first, whose keys and values (plus
   * {@link #RECORD_BYTES} each) stay within {@code maxBytes}; the first is returned even when it
   * alone is larger. The sizes are read first, without the values, so no more than that is loaded.
   */
  public Future<List<Hint>> hints(int peer, int limit, long maxBytes) {
    return pool.preparedQuery("SELECT id, octet_length(key) + coalesce(octet_length(value), 0) FROM hints "
            + "WHERE peer = ? ORDER BY hlc, node LIMIT ?")
        .execute(Tuple.of(peer, limit))
        .compose(sizes -> {
          List<Object> ids = new ArrayList<>();
          long bytes = 0;
          for (Row row : sizes) {
            long n = RECORD_BYTES + row.getLong(1);
            if (!ids.isEmpty() && bytes + n > maxBytes) {
              break;
            }
            bytes += n;
            ids.add(row.getLong(0));
          }
          if (ids.isEmpty()) {
            return Future.succeededFuture(new ArrayList<>());
          }
          return pool.preparedQuery("SELECT id, key, value, hlc, node, tombstone, expires_at FROM hints "
                  + "WHERE id IN (" + placeholders(ids.size()) + ") ORDER BY hlc, node")
              .execute(Tuple.wrap(ids))
              .map(rows -> {
                List<Hint> out = new ArrayList<>(ids.size());
                for (Row row : rows) {
                  Record r = new Record(row.getString(1), row.getString(2), version(row, 3), row.getLong(5) != 0, row.getLong(6));
                  out.add(new Hint(row.getLong(0), peer, r));
                }
                return out;
              });
        });
  }

  /** Pending hints per peer id. */
  public Future<Map<Integer, Long>> hintCounts() {
    return pool.query("SELECT peer, count(*) FROM hints GROUP BY peer").execute().map(rows -> {
      Map<Integer, Long> out = new HashMap<>();
      for (Row row : rows) {
        out.put(row.getLong(0).intValue(), row.getLong(1));
      }
      return out;
    });
  }

  /**
   * Key, version, tombstone flag and expiry (no values) of the records in the given anti-entropy buckets,
   * in {@link BucketPosition} order, starting after {@code after} (null: from the start), at most
   * {@code limit} of them. {@link Listing#next()} is where the next page starts, null when none is left.
   */
  public Future<Listing> bucketVersions(List<Integer> buckets, BucketPosition after, int limit) {
    List<Integer> sorted = buckets.stream().distinct().sorted().toList();
    List<Record> out = new ArrayList<>();
    Future<Void> first = Future.succeededFuture();
    if (after != null && sorted.contains(after.bucket())) {
      first = pool.preparedQuery("SELECT key, hlc, node, tombstone, expires_at FROM kv WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?")
          .execute(Tuple.of(after.bucket(), after.key(), limit))
          .map(rows -> {
            rows.forEach(row -> out.add(versionOnly(row)));
            return null;
          });
    }
    List<Integer> later = after == null ? sorted : sorted.stream().filter(b -> b > after.bucket()).toList();
    return first.compose(v -> {
      if (out.size() >= limit || later.isEmpty()) {
        return Future.succeededFuture();
      }
      List<Object> params = new ArrayList<>(later);
      params.add(limit - out.size());
      return pool.preparedQuery("SELECT key, hlc, node, tombstone, expires_at FROM kv WHERE bucket IN (" + placeholders(later.size())
              + ") ORDER BY bucket, key LIMIT ?")
          .execute(Tuple.wrap(params))
          .map(rows -> {
            rows.forEach(row -> out.add(versionOnly(row)));
            return null;
          });
    }).map(v -> new Listing(out, out.size() >= limit ? BucketPosition.of(out.get(out.size() - 1).key()) : null));
  }

  /**
   * Key, version and tombstone flag (no values) of up to {@code limit} records whose key sorts
   * after {@code afterKey} ("" for the first page), in key order: a full walk in pages.
   */
  public Future<List<Record>> versionsAfter(String afterKey, int limit) {
    return pool.preparedQuery("SELECT key, hlc, node, tombstone FROM kv WHERE key > ? ORDER BY key LIMIT ?")
        .execute(Tuple.of(afterKey, limit))
        .map(rows -> {
          List<Record> out = new ArrayList<>();
          for (Row row : rows) {
            out.add(new Record(row.getString(0), null, version(row, 1), row.getLong(3) != 0, 0));
          }
          return out;
        });
  }

  private static Record versionOnly(Row row) {
    return new Record(row.getString(0), null, version(row, 1), row.getLong(3) != 0, row.getLong(4));
  }

  /** A page of a bucket listing; {@code next} is null on the last one. */
  public record Listing(List<Record> records, BucketPosition next) {}

  /** The records read for some keys, and the keys left out to stay within a byte bound. */
  public record Served(List<Record> records, List<String> unserved) {}

  /** Full records (with values, tombstones included) of the given keys that exist here. */
  public Future<List<Record>> records(List<String> keys) {
    List<Record> found = new ArrayList<>(keys.size());
    List<String> misses = null;
    for (String key : keys) {
      RecordCache.Entry hit = cache.lookup(key);
      if (hit == null) {
        if (misses == null) {
          misses = new ArrayList<>();
        }
        misses.add(key);
      } else if (hit.record() != null) {
        found.add(hit.record());
      }
    }
    if (misses == null) {
      return Future.succeededFuture(found);
    }
    cache.missed(misses.size());
    return points.records(misses).map(read -> {
      found.addAll(read);
      return found;
    });
  }

  /**
   * Up to {@code limit} of this node's records in {@code range} after the key {@code after} (null:
   * from the range's start), in key order, tombstones and expired records included, through the
   * primary-key index. With {@code values} false the values are not read (records carry none).
   * With values, the page also stops before the record that would take it past {@code maxBytes}
   * (always at least one record), so a page of large values stays bounded.
   */
  public Future<ScanPage> scan(KeyRange range, String after, int limit, boolean values, int maxBytes) {
    StringBuilder where = new StringBuilder();
    List<Object> args = new ArrayList<>(4);
    if (after != null) {
      where.append("key > ?");
      args.add(after);
    } else if (range.start() != null) {
      where.append("key >= ?");
      args.add(range.start());
    }
    if (range.end() != null) {
      where.append(where.length() == 0 ? "" : " AND ").append("key < ?");
      args.add(range.end());
    }
    String filter = where.length() == 0 ? "" : " WHERE " + where;
    args.add(limit);
    String sql;
    if (values) {
      // keep = whether the bytes before this row are still under maxBytes; rows past the bound
      // come back without their value, only to tell that the page was cut.
      sql = "SELECT key, CASE WHEN keep THEN value END, hlc, node, tombstone, expires_at, keep FROM ("
          + "SELECT key, value, hlc, node, tombstone, expires_at, "
          + "(sum(w) OVER (ORDER BY key ROWS UNBOUNDED PRECEDING) - w) < ? AS keep FROM ("
          + "SELECT key, value, hlc, node, tombstone, expires_at, 64 + length(key) + coalesce(length(CAST(value AS BLOB)), 0) AS w "
          + "FROM kv" + filter + " ORDER BY key LIMIT ?)) ORDER BY key";
      args.add(0, maxBytes); // its placeholder comes first in the text
    } else {
      sql = "SELECT key, NULL, hlc, node, tombstone, expires_at, 1 FROM kv" + filter + " ORDER BY key LIMIT ?";
    }
    return pool.preparedQuery(sql).execute(Tuple.wrap(args)).map(rows -> {
      List<Record> out = new ArrayList<>(rows.size());
      boolean cut = false;
      for (Row row : rows) {
        if (row.getLong(6) == 0) {
          cut = true;
          break;
        }
        boolean tombstone = row.getLong(4) != 0;
        out.add(new Record(row.getString(0), tombstone ? null : row.getString(1), version(row, 2), tombstone, row.getLong(5)));
      }
      return new ScanPage(out, !cut && rows.size() < limit);
    });
  }

  /**
   * Full records of the given keys that exist here, within {@code maxBytes} by {@code size}
   * (the first record is kept even when it alone is larger); keys not read because of the bound
   * come back as {@link Served#unserved()}, to be asked for again. {@code fillCache} false keeps
   * the records read out of the cache (repair traffic, which must not evict what clients read).
   */
  public Future<Served> records(List<String> keys, long maxBytes, ToIntFunction<Record> size, boolean fillCache) {
    List<Record> found = new ArrayList<>();
    List<String> unserved = new ArrayList<>();
    List<String> misses = new ArrayList<>();
    long bytes = 0;
    for (String key : keys) {
      RecordCache.Entry hit = cache.lookup(key);
      if (hit == null) {
        misses.add(key);
      } else if (hit.record() != null) {
        int n = size.applyAsInt(hit.record());
        if (found.isEmpty() || bytes + n <= maxBytes) {
          bytes += n;
          found.add(hit.record());
        } else {
          unserved.add(key);
        }
      }
    }
    if (misses.isEmpty()) {
      return Future.succeededFuture(new Served(found, unserved));
    }
    cache.missed(misses.size());
    long left = maxBytes - bytes;
    boolean any = !found.isEmpty();
    return points.records(misses, any ? Math.max(0, left) : maxBytes, size, fillCache).map(read -> {
      if (any && !read.records().isEmpty() && size.applyAsInt(read.records().get(0)) > left) {
        // The point reads keep their first record whatever its size; here it would go beyond the bound.
        unserved.add(read.records().get(0).key());
        found.addAll(read.records().subList(1, read.records().size()));
      } else {
        found.addAll(read.records());
      }
      unserved.addAll(read.unserved());
      return new Served(found, unserved);
    });
  }

  private static String placeholders(int n) {
    return "?,".repeat(n - 1) + "?";
  }

  private static Version version(Row row, int col) {
    return new Version(row.getLong(col), row.getLong(col + 1).intValue());
  }

  @Override
  public void close() {
    points.close();
    pool.close();
    dataSource.close();
  }
}
