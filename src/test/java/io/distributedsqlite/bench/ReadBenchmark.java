package io.distributedsqlite.bench;

import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.RecordCache;
import io.distributedsqlite.storage.RecordReader;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.Version;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Point reads of one record by key from a node's database, 10,000 records of ~100 bytes, two
 * caller threads each waiting for its read:
 * <ul>
 *   <li>{@code cachedGet}: {@link RecordReader} as the node reads, every key in its record cache;
 *   <li>{@code pointReadGet}: {@link RecordReader} with the cache off: a hop to a read worker and
 *       one execution of a prepared SELECT on a pooled read-only connection;
 *   <li>{@code jdbcClientGet}: the same SELECT through the Vert.x JDBC client over Agroal (how
 *       the node read before);
 *   <li>{@code rawJdbcGet}: the caller thread runs the prepared SELECT itself (no hop at all).
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Threads(2)
public class ReadBenchmark {
  static final int KEYS = 10_000;
  static final String SELECT = "SELECT value, hlc, node, tombstone, expires_at FROM kv WHERE key = ?";

  private Path dir;
  private Vertx vertx;
  private RecordReader reader;
  private RecordReader cached;
  private io.vertx.sqlclient.Pool jdbcClient;
  private io.agroal.api.AgroalDataSource agroal;

  @Setup(Level.Trial)
  public void open() throws Exception {
    dir = Files.createTempDirectory("dsqlite-readbench-");
    try (SqliteStore store = SqliteStore.open(dir, "NORMAL")) {
      String value = StorageBenchmark.jsonValue(100);
      long hlc = System.currentTimeMillis() << 16;
      for (int i = 0; i < KEYS; i++) {
        store.apply(Record.write("k-" + i, value, new Version(++hlc, 0), 0));
      }
      store.commit();
    }
    vertx = Vertx.vertx();
    reader = RecordReader.open(vertx, dir, 2, new RecordCache(0));
    cached = RecordReader.open(vertx, dir, 2, new RecordCache(64 << 20));
    for (int i = 0; i < KEYS; i++) {
      cached.get("k-" + i).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
    agroal = io.agroal.api.AgroalDataSource.from(new io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier()
        .connectionPoolConfiguration(cp -> cp.initialSize(1).minSize(1).maxSize(2)
            .connectionFactoryConfiguration(cf -> cf.jdbcUrl("jdbc:sqlite:" + dir.resolve(SqliteStore.FILE_NAME))
                .connectionProviderClass(org.sqlite.JDBC.class).jdbcProperty("open_mode", "1"))));
    jdbcClient = io.vertx.jdbcclient.JDBCPool.pool(vertx, agroal, new io.vertx.sqlclient.PoolOptions().setMaxSize(2));
  }

  @TearDown(Level.Trial)
  public void close() throws Exception {
    reader.close();
    cached.close();
    jdbcClient.close();
    agroal.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** One read-only connection and prepared SELECT per benchmark thread. */
  @State(Scope.Thread)
  public static class RawConnection {
    Connection conn;
    PreparedStatement select;

    @Setup(Level.Trial)
    public void open(ReadBenchmark bench) throws SQLException {
      org.sqlite.SQLiteConfig cfg = new org.sqlite.SQLiteConfig();
      cfg.setReadOnly(true);
      conn = DriverManager.getConnection("jdbc:sqlite:" + bench.dir.resolve(SqliteStore.FILE_NAME), cfg.toProperties());
      select = conn.prepareStatement(SELECT);
    }

    @TearDown(Level.Trial)
    public void close() throws SQLException {
      select.close();
      conn.close();
    }
  }

  private static String randomKey() {
    return "k-" + ThreadLocalRandom.current().nextInt(KEYS);
  }

  @Benchmark
  public Record cachedGet() throws Exception {
    return cached.get(randomKey()).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @Benchmark
  public Record pointReadGet() throws Exception {
    return reader.get(randomKey()).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @Benchmark
  public Object jdbcClientGet() throws Exception {
    return jdbcClient.preparedQuery(SELECT).execute(io.vertx.sqlclient.Tuple.of(randomKey()))
        .map(rows -> rows.iterator().hasNext() ? rows.iterator().next().getString(0) : null)
        .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @Benchmark
  public Record rawJdbcGet(RawConnection raw) throws SQLException {
    String key = randomKey();
    raw.select.setString(1, key);
    try (ResultSet rs = raw.select.executeQuery()) {
      if (!rs.next()) {
        return null;
      }
      return new Record(key, rs.getString(1), new Version(rs.getLong(2), rs.getInt(3)), rs.getInt(4) != 0, rs.getLong(5));
    }
  }
}
