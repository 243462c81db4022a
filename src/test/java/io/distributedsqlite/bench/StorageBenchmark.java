package io.distributedsqlite.bench;

import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.Version;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Upserts per second into a node's SQLite file, one score per record written.
 *
 * <ul>
 *   <li>{@code store*}: through {@link SqliteStore} per group-commit batch: {@code apply} per record
 *       (merge rule; a new key is one {@code INSERT ... ON CONFLICT DO NOTHING} with {@code json(?)},
 *       an existing one is read, compared and updated), the clock high-water row, one commit.
 *       {@code storeGroupCommit100/1000} put 100/1000 records in one transaction (WRITE_BATCH_MAX)
 *       with a savepoint around each record: the {@code StorageVerticle}'s retry path after a failed
 *       batch, its worst case. {@code storeOnePerTransaction} commits after every record (what an
 *       idle node does).</li>
 *   <li>{@code storeNoSavepoint1000}: the same 1000-record batch without savepoints: the
 *       {@code StorageVerticle}'s normal path.</li>
 *   <li>{@code storeOverwrite1000}: as {@code storeNoSavepoint1000}, but every record is a newer
 *       version of one of 10,000 keys written at set-up (updates, the mixed workload).</li>
 *   <li>{@code raw*}: the baseline, plain JDBC on the same table shape and pragmas: one batched
 *       {@code INSERT ... ON CONFLICT DO UPDATE} ({@code addBatch/executeBatch}), no read, no merge,
 *       no savepoints. What SQLite itself allows on this disk.</li>
 * </ul>
 *
 * <p>All but {@code storeOverwrite1000} write fresh keys (inserts, the common write-heavy case) with a JSON value of
 * {@code valueBytes}. {@code synchronous} is FULL (the node default: fsync of the WAL per commit)
 * or NORMAL. Run it with {@code bin/load-bench-storage}; the class name does not end in Test, so
 * Surefire never runs it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class StorageBenchmark {

  @Param({"FULL", "NORMAL"})
  public String synchronous;

  /** Size of the JSON value of each record; e.g. {@code -p valueBytes=100,10240}. */
  @Param({"100"})
  public int valueBytes;

  private Path dir;
  private SqliteStore store;
  private Connection raw;
  private PreparedStatement rawUpsert;
  private String value;
  private long counter;
  private long overwriteCounter;
  private long hlc;

  private static final int OVERWRITTEN_KEYS = 10_000;

  @Setup(Level.Trial)
  public void open() throws Exception {
    dir = Files.createTempDirectory("dsqlite-bench-");
    store = SqliteStore.open(dir.resolve("store"), synchronous);
    Path rawDir = Files.createDirectories(dir.resolve("raw"));
    raw = DriverManager.getConnection("jdbc:sqlite:" + rawDir.resolve("raw.db"));
    try (Statement st = raw.createStatement()) {
      st.execute("PRAGMA journal_mode=WAL");
      st.execute("PRAGMA synchronous=" + synchronous);
      // The node's kv table and indexes, so the two differ only in how rows are written.
      st.execute("CREATE TABLE kv (key TEXT NOT NULL PRIMARY KEY, value TEXT, hlc INTEGER NOT NULL,"
          + " node INTEGER NOT NULL, tombstone INTEGER NOT NULL DEFAULT 0,"
          + " expires_at INTEGER NOT NULL DEFAULT 0, bucket INTEGER NOT NULL)");
      st.execute("CREATE INDEX kv_bucket ON kv(bucket)");
      st.execute("CREATE INDEX kv_tombstones ON kv(hlc) WHERE tombstone = 1");
    }
    raw.setAutoCommit(false);
    rawUpsert = raw.prepareStatement(
        "INSERT INTO kv(key, value, hlc, node, tombstone, expires_at, bucket) VALUES (?, json(?), ?, ?, 0, 0, ?) "
            + "ON CONFLICT(key) DO UPDATE SET value = excluded.value, hlc = excluded.hlc, node = excluded.node, "
            + "tombstone = excluded.tombstone, expires_at = excluded.expires_at");
    value = jsonValue(valueBytes);
    hlc = System.currentTimeMillis() << 16;
    for (int i = 0; i < OVERWRITTEN_KEYS; i++) {
      store.apply(nextOverwrite());
    }
    store.commit();
  }

  @TearDown(Level.Trial)
  public void close() throws Exception {
    try {
      store.close();
      rawUpsert.close();
      raw.close();
    } finally {
      deleteTree(dir);
    }
  }

  /** A JSON object of about {@code bytes} bytes: {"user":…,"n":…,"pad":"xxxx…"}. */
  static String jsonValue(int bytes) {
    String head = "{\"user\":\"bench\",\"n\":12345,\"pad\":\"";
    int pad = Math.max(0, bytes - head.length() - 2);
    return head + "x".repeat(pad) + "\"}";
  }

  private Record nextRecord(long expiresAt) {
    long n = counter++;
    return Record.write("bench-" + n, value, new Version(++hlc, 0), expiresAt);
  }

  private Record nextOverwrite() {
    long n = overwriteCounter++;
    return Record.write("hot-" + (n % OVERWRITTEN_KEYS), value, new Version(++hlc, 0), 0);
  }

  private void storeBatch(int records, boolean savepoints) throws SQLException {
    storeBatch(records, savepoints, false, 0);
  }

  /** {@code expiresAt} > 0: every new record has a TTL, so it also enters the {@code kv_expiry} index. */
  private void storeBatch(int records, boolean savepoints, boolean overwrite, long expiresAt) throws SQLException {
    for (int i = 0; i < records; i++) {
      if (savepoints) {
        store.savepoint();
      }
      store.apply(overwrite ? nextOverwrite() : nextRecord(expiresAt));
      if (savepoints) {
        store.releaseSavepoint(true);
      }
    }
    store.saveHighWater(hlc);
    store.commit();
  }

  private void rawBatch(int records) throws SQLException {
    for (int i = 0; i < records; i++) {
      long n = counter++;
      String key = "bench-" + n;
      rawUpsert.setString(1, key);
      rawUpsert.setString(2, value);
      rawUpsert.setLong(3, ++hlc);
      rawUpsert.setInt(4, 0);
      rawUpsert.setInt(5, (int) (n & 1023));
      rawUpsert.addBatch();
    }
    rawUpsert.executeBatch();
    raw.commit();
  }

  @Benchmark
  public void storeOnePerTransaction() throws SQLException {
    storeBatch(1, true);
  }

  @Benchmark
  @OperationsPerInvocation(100)
  public void storeGroupCommit100() throws SQLException {
    storeBatch(100, true);
  }

  @Benchmark
  @OperationsPerInvocation(1000)
  public void storeGroupCommit1000() throws SQLException {
    storeBatch(1000, true);
  }

  /** As {@link #storeGroupCommit1000}, every record with a TTL (an hour ahead): the cost of the expiry index. */
  @Benchmark
  @OperationsPerInvocation(1000)
  public void storeGroupCommit1000WithTtl() throws SQLException {
    storeBatch(1000, true, false, System.currentTimeMillis() + 3_600_000);
  }

  @Benchmark
  @OperationsPerInvocation(1000)
  public void storeNoSavepoint1000() throws SQLException {
    storeBatch(1000, false);
  }

  @Benchmark
  @OperationsPerInvocation(1000)
  public void storeOverwrite1000() throws SQLException {
    storeBatch(1000, false, true, 0);
  }

  @Benchmark
  public void rawOnePerTransaction() throws SQLException {
    rawBatch(1);
  }

  @Benchmark
  @OperationsPerInvocation(100)
  public void rawBatch100() throws SQLException {
    rawBatch(100);
  }

  @Benchmark
  @OperationsPerInvocation(1000)
  public void rawBatch1000() throws SQLException {
    rawBatch(1000);
  }

  private static void deleteTree(Path root) throws IOException {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * Runs the benchmarks of this package (this one and {@link ReadBenchmark}) with the bounded
   * defaults above (2 warm-up and 3 measured 2-second iterations, one fork: about 3.5 minutes for the
   * 18 combinations). Any JMH command-line option overrides them and a name pattern narrows the
   * set, e.g.
   * {@code StorageBenchmark.raw -p valueBytes=100,10240 -rf json -rff out.json}.
   */
  public static void main(String[] args) throws RunnerException, CommandLineOptionException {
    CommandLineOptions cli = new CommandLineOptions(args);
    OptionsBuilder opts = new OptionsBuilder();
    opts.parent(cli);
    if (cli.getIncludes().isEmpty()) {
      opts.include(StorageBenchmark.class.getPackageName() + "\\.");
    }
    Runner runner = new Runner(opts.build());
    if (cli.shouldList()) {
      runner.list();
    } else {
      runner.run();
    }
  }
}
