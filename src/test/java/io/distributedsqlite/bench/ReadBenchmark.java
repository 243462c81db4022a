package io.distributedsqlite.bench;

import io.distributedsqlite.storage.Record;
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
 * Point reads of one record by key from a node's database, 10,000 records of ~100 bytes:
 * {@code recordReaderGet} through {@link RecordReader} as the node reads (Vert.x JDBC client over
 * the Agroal pool, two read connections, the caller waits for the future), {@code rawJdbcGet}
 * with one read-only connection per thread and its SELECT prepared once. Two caller threads each.
 * The gap is the price of the client's per-query work (statement prepare and finalize, parameter
 * and column metadata, the hop to a worker thread and back).
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
    reader = RecordReader.open(vertx, dir, 2);
  }

  @TearDown(Level.Trial)
  public void close() throws Exception {
    reader.close();
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
  public Record recordReaderGet() throws Exception {
    return reader.get(randomKey()).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
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
