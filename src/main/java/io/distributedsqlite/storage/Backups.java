package io.distributedsqlite.storage;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Online snapshots of this node's database into BACKUP_DIR, and restoring from one at start-up.
 *
 * <p>A snapshot is SQLite's {@code VACUUM INTO} run on a connection of its own, on a worker
 * thread: in WAL mode that connection reads one consistent snapshot of the database while the
 * storage worker keeps committing, so writes never stop. The result is a compact, complete
 * database file (records, tombstones, hints, the clock's high-water mark), written under a
 * temporary name and renamed when complete, so a listed backup is always whole.
 */
public final class Backups {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,200}\\.db");
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS").withZone(ZoneOffset.UTC);

  /** What a snapshot holds: rows of kv (tombstones among them), and the highest version in it. */
  public record Info(String name, long bytes, long records, long tombstones, Version highestVersion, long createdAt, long tookMs) {}

  private final Vertx vertx;
  private final Path database;
  private final Path dir;
  private final String nodeName;

  public Backups(Vertx vertx, Path dataDir, Path backupDir, String nodeName) {
    this.vertx = vertx;
    this.database = dataDir.resolve(SqliteStore.FILE_NAME);
    this.dir = backupDir;
    this.nodeName = nodeName;
  }

  /** Takes a snapshot now; completes with what it holds. */
  public Future<Info> take() {
    return vertx.executeBlocking(() -> {
      Files.createDirectories(dir);
      long start = System.currentTimeMillis();
      String name = "node-" + nodeName.replaceAll("[^A-Za-z0-9_-]", "_") + "-" + STAMP.format(Instant.ofEpochMilli(start)) + ".db";
      Path partial = dir.resolve(name + ".partial");
      Files.deleteIfExists(partial);
      try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + database);
          PreparedStatement vacuum = c.prepareStatement("VACUUM INTO ?")) {
        try (Statement st = c.createStatement()) {
          st.execute("PRAGMA busy_timeout = 10000");
        }
        vacuum.setString(1, partial.toString());
        vacuum.execute();
      } catch (SQLException e) {
        Files.deleteIfExists(partial);
        throw e;
      }
      Path file = dir.resolve(name);
      Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
      return describe(file, start, System.currentTimeMillis() - start);
    }, false);
  }

  /** Completed snapshots, newest first. */
  public Future<List<Info>> list() {
    return vertx.executeBlocking(() -> {
      List<Info> out = new ArrayList<>();
      if (!Files.isDirectory(dir)) {
        return out;
      }
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : files.filter(p -> NAME.matcher(p.getFileName().toString()).matches()).toList()) {
          out.add(describe(f, Files.getLastModifiedTime(f).toMillis(), 0));
        }
      }
      out.sort(Comparator.comparingLong(Info::createdAt).reversed().thenComparing(Info::name));
      return out;
    }, false);
  }

  /** The file of a completed snapshot by name; empty for a name that is not one (no path tricks). */
  public Optional<Path> file(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      return Optional.empty();
    }
    Path f = dir.resolve(name);
    return Files.isRegularFile(f) ? Optional.of(f) : Optional.empty();
  }

  private static Connection readOnly(Path file) throws SQLException {
    org.sqlite.SQLiteConfig cfg = new org.sqlite.SQLiteConfig();
    cfg.setReadOnly(true);
    return DriverManager.getConnection("jdbc:sqlite:" + file, cfg.toProperties());
  }

  private static Info describe(Path file, long createdAt, long tookMs) throws SQLException, IOException {
    try (Connection c = readOnly(file);
        Statement st = c.createStatement()) {
      long records;
      long tombstones;
      try (ResultSet rs = st.executeQuery("SELECT count(*), coalesce(sum(tombstone), 0) FROM kv")) {
        rs.next();
        records = rs.getLong(1);
        tombstones = rs.getLong(2);
      }
      Version highest = null;
      try (ResultSet rs = st.executeQuery("SELECT hlc, node FROM kv ORDER BY hlc DESC, node DESC LIMIT 1")) {
        if (rs.next()) {
          highest = new Version(rs.getLong(1), rs.getInt(2));
        }
      }
      return new Info(file.getFileName().toString(), Files.size(file), records, tombstones, highest, createdAt, tookMs);
    }
  }

  /**
   * RESTORE_FROM at start-up: when DATA_DIR holds no database yet, the snapshot becomes it (after
   * checking it is an SQLite database with the kv table); anti-entropy then brings the node up to
   * date with its peers. Returns whether it restored; a DATA_DIR that already holds a database is
   * left alone (a restarted node keeps what it has).
   */
  public static boolean restoreIfEmpty(Path snapshot, Path dataDir) throws StorageException {
    Path db = dataDir.resolve(SqliteStore.FILE_NAME);
    if (Files.exists(db)) {
      return false;
    }
    if (!Files.isRegularFile(snapshot)) {
      throw new StorageException("RESTORE_FROM=" + snapshot + " is not a file");
    }
    try (Connection c = readOnly(snapshot);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM kv")) {
      rs.next();
    } catch (SQLException e) {
      throw new StorageException("RESTORE_FROM=" + snapshot + " is not a node snapshot: " + e.getMessage(), e);
    }
    try {
      Files.createDirectories(dataDir);
      Path tmp = dataDir.resolve(SqliteStore.FILE_NAME + ".restoring");
      Files.copy(snapshot, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.deleteIfExists(dataDir.resolve(SqliteStore.FILE_NAME + "-wal"));
      Files.deleteIfExists(dataDir.resolve(SqliteStore.FILE_NAME + "-shm"));
      Files.move(tmp, db, StandardCopyOption.ATOMIC_MOVE);
      return true;
    } catch (IOException e) {
      throw new StorageException("cannot restore RESTORE_FROM=" + snapshot + " into " + dataDir + ": " + e.getMessage(), e);
    }
  }
}
