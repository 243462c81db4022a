package io.distributedsqlite.storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.sqlite.SQLiteConfig;

/**
 * The node's single write connection to {@code DATA_DIR/node.db}. Not thread-safe: after start-up
 * only the {@link StorageVerticle}'s worker thread touches it. Every write goes through
 * {@link #apply}, which keeps the newer version only (the merge rule).
 */
public final class SqliteStore implements AutoCloseable {
  /** SQLite's own default page cache per connection, in KiB. */
  public static final int DEFAULT_CACHE_KIB = 2000;

  public static final String FILE_NAME = "node.db";
  private static final byte[] SQLITE_MAGIC = "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);

  private final Path file;
  private final Connection conn;
  private PreparedStatement selectVersion;
  private PreparedStatement insertNew;
  private PreparedStatement update;
  private PreparedStatement insertHint;
  private PreparedStatement deleteHint;
  private PreparedStatement saveHighWater;
  private PreparedStatement putMeta;
  private PreparedStatement dropOldHints;
  private PreparedStatement selectTombstones;
  private PreparedStatement begin;
  private PreparedStatement commit;
  private PreparedStatement savepoint;
  private PreparedStatement release;
  private PreparedStatement rollbackToSavepoint;
  private PreparedStatement compact;
  private PreparedStatement deleteIfVersion;

  /**
   * Hints per peer, counted once at open and kept current, to bound them without a count(*) per
   * write. Changes made inside the open transaction are kept apart ({@link #pendingHintCounts})
   * and added only once COMMIT succeeded, so a batch that is rolled back and run again counts once.
   */
  private final java.util.Map<Integer, Long> hintCounts = new java.util.HashMap<>();
  private final java.util.Map<Integer, Long> pendingHintCounts = new java.util.HashMap<>();
  private boolean inTransaction;

  private SqliteStore(Path file, Connection conn) throws SQLException {
    this.file = file;
    this.conn = conn;
    try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT peer, count(*) FROM hints GROUP BY peer")) {
      while (rs.next()) {
        hintCounts.put(rs.getInt(1), rs.getLong(2));
      }
    }
    prepare();
  }

  private void prepare() throws SQLException {
    selectVersion = conn.prepareStatement("SELECT hlc, node, tombstone, value, expires_at FROM kv WHERE key = ?");
    // apply() tries the insert first: a new key (the common write) costs one statement.
    insertNew = conn.prepareStatement(
        "INSERT INTO kv(key, value, hlc, node, tombstone, expires_at, bucket) VALUES (?, json(?), ?, ?, ?, ?, ?) "
            + "ON CONFLICT(key) DO NOTHING");
    update = conn.prepareStatement(
        "UPDATE kv SET value = json(?), hlc = ?, node = ?, tombstone = ?, expires_at = ? WHERE key = ?");
    insertHint = conn.prepareStatement(
        "INSERT INTO hints(peer, key, value, hlc, node, tombstone, expires_at, created_at) VALUES (?, ?, json(?), ?, ?, ?, ?, ?)");
    deleteHint = conn.prepareStatement("DELETE FROM hints WHERE id = ?");
    saveHighWater = conn.prepareStatement(
        "INSERT INTO meta(name, value) VALUES ('clock', ?) ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)");
    putMeta = conn.prepareStatement(
        "INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    selectTombstones = conn.prepareStatement("SELECT key, hlc, node FROM kv WHERE tombstone = 1 AND hlc < ? ORDER BY hlc LIMIT ?");
    dropOldHints = conn.prepareStatement("DELETE FROM hints WHERE peer = ? AND created_at < ?");
    begin = conn.prepareStatement("BEGIN IMMEDIATE");
    commit = conn.prepareStatement("COMMIT");
    savepoint = conn.prepareStatement("SAVEPOINT cmd");
    release = conn.prepareStatement("RELEASE cmd");
    rollbackToSavepoint = conn.prepareStatement("ROLLBACK TO cmd");
    compact = conn.prepareStatement("SELECT json(?)");
    deleteIfVersion = conn.prepareStatement("DELETE FROM kv WHERE key = ? AND hlc = ? AND node = ?");
  }

  /**
   * Re-prepares every statement after a failed write: the driver leaves a statement that failed
   * mid-step unusable ("statement is not executing").
   */
  public void recover() {
    for (PreparedStatement ps : new PreparedStatement[] {selectVersion, insertNew, update, insertHint, deleteHint,
        saveHighWater, putMeta, dropOldHints, selectTombstones, begin, commit, savepoint, release,
        rollbackToSavepoint, compact, deleteIfVersion}) {
      try {
        ps.close();
      } catch (SQLException ignored) {
        // replaced below
      }
    }
    try {
      prepare();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot re-prepare statements on " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Opens (or creates) the database in {@code dataDir}. Refuses a file that exists but is not an
   * SQLite database, instead of overwriting it.
   */
  public static SqliteStore open(Path dataDir, String synchronous) throws StorageException {
    return open(dataDir, synchronous, 0);
  }

  /**
   * As {@link #open(Path, String)}, with the database capped at {@code maxDbBytes} (0: no cap);
   * writes beyond it fail with SQLITE_FULL like on a full disk.
   */
  public static SqliteStore open(Path dataDir, String synchronous, long maxDbBytes) throws StorageException {
    return open(dataDir, synchronous, maxDbBytes, DEFAULT_CACHE_KIB);
  }

  /** As {@link #open(Path, String, long)}, with SQLite's page cache limited to {@code cacheKib} KiB. */
  public static SqliteStore open(Path dataDir, String synchronous, long maxDbBytes, int cacheKib) throws StorageException {
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new StorageException("cannot create DATA_DIR " + dataDir + ": " + e.getMessage(), e);
    }
    Path file = dataDir.resolve(FILE_NAME);
    checkIsSqlite(file);
    try {
      SQLiteConfig cfg = new SQLiteConfig();
      cfg.setJournalMode(SQLiteConfig.JournalMode.WAL);
      cfg.setSynchronous(SQLiteConfig.SynchronousMode.valueOf(synchronous));
      cfg.setBusyTimeout(10_000);
      cfg.setCacheSize(-cacheKib); // negative: KiB rather than pages
      cfg.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
      // SQLite's recommended setting. No table of ours declares a foreign key, so this costs
      // nothing; a constraint added to the file is enforced (a deferred one fails at COMMIT,
      // which the write path must survive: see commit() and rollback()).
      cfg.enforceForeignKeys(true);
      // Nothing here reads generated keys; left on, the driver runs "SELECT last_insert_rowid()"
      // (a fresh statement, prepared each time) after every INSERT: ~40% of the CPU of an insert.
      cfg.setGetGeneratedKeys(false);
      Connection conn = DriverManager.getConnection("jdbc:sqlite:" + file, cfg.toProperties());
      try (Statement st = conn.createStatement()) {
        checkAndPrepare(st, file, maxDbBytes);
        return new SqliteStore(file, conn);
      } catch (SQLException | StorageException | RuntimeException e) {
        conn.close();
        throw e;
      }
    } catch (SQLException e) {
      throw new StorageException("cannot open " + file + ": " + e.getMessage(), e);
    }
  }

  /** Refuses a damaged file, creates the schema, applies the size cap. */
  private static void checkAndPrepare(Statement st, Path file, long maxDbBytes) throws SQLException, StorageException {
    try (ResultSet rs = st.executeQuery("PRAGMA quick_check(1)")) {
      String verdict = rs.next() ? rs.getString(1) : "no answer";
      if (!"ok".equals(verdict)) {
        throw new StorageException(file + " is damaged (" + verdict + "); restore it or wipe DATA_DIR to rebuild from replicas");
      }
    }
    Schema.create(st);
    if (maxDbBytes > 0) {
      try (ResultSet rs = st.executeQuery("PRAGMA page_size")) {
        long pages = Math.max(16, maxDbBytes / rs.getLong(1));
        st.execute("PRAGMA max_page_count = " + pages);
      }
    }
  }

  private static void checkIsSqlite(Path file) throws StorageException {
    if (!Files.exists(file)) {
      return;
    }
    try (var in = Files.newInputStream(file)) {
      byte[] head = in.readNBytes(SQLITE_MAGIC.length);
      if (head.length == 0) {
        return; // an empty file is a database SQLite has not written yet
      }
      if (!java.util.Arrays.equals(head, SQLITE_MAGIC)) {
        throw new StorageException(file + " exists but is not an SQLite database; refusing to overwrite it");
      }
    } catch (IOException e) {
      throw new StorageException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  public Path file() {
    return file;
  }

  /** The highest clock stamp ever committed here; the clock starts from it after a restart. */
  public long highWater() throws SQLException {
    long high = 0;
    try (Statement st = conn.createStatement()) {
      try (ResultSet rs = st.executeQuery("SELECT coalesce(max(hlc), 0) FROM kv")) {
        high = Math.max(high, rs.getLong(1));
      }
      try (ResultSet rs = st.executeQuery("SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta WHERE name = 'clock'")) {
        high = Math.max(high, rs.getLong(1));
      }
    }
    return high;
  }

  /** The stored record for {@code key}, tombstones included; null when there is none. */
  public Record current(String key) throws SQLException {
    selectVersion.setString(1, key);
    try (ResultSet rs = selectVersion.executeQuery()) {
      if (!rs.next()) {
        return null;
      }
      Version v = new Version(rs.getLong(1), rs.getInt(2));
      return new Record(key, rs.getString(4), v, rs.getInt(3) != 0, rs.getLong(5));
    }
  }

  /**
   * Applies one record with the merge rule inside the open transaction. Returns the record it
   * replaced (null if there was none), or {@code incoming} itself when the stored version is
   * newer or equal and nothing changed.
   *
   * <p>A key that is not stored yet is inserted by one statement ({@code ON CONFLICT DO NOTHING});
   * only when the key exists is the stored record read, compared and, if older, updated in place.
   * The insert runs {@code json(?)} before it meets the stored key, so a value SQLite cannot parse
   * fails even when its version is stale (such a value was never stored on any replica).
   */
  public Record apply(Record incoming) throws SQLException {
    ensureTransaction();
    String key = incoming.key();
    String value = incoming.tombstone() ? null : incoming.value();
    int tombstone = incoming.tombstone() ? 1 : 0;
    insertNew.setString(1, key);
    insertNew.setString(2, value);
    insertNew.setLong(3, incoming.version().hlc());
    insertNew.setInt(4, incoming.version().nodeId());
    insertNew.setInt(5, tombstone);
    insertNew.setLong(6, incoming.expiresAt());
    insertNew.setInt(7, KeyHash.bucket(key));
    if (insertNew.executeUpdate() == 1) {
      return null;
    }
    Record current = current(key);
    if (current == null) {
      throw new SQLException("insert of " + key + " conflicted, yet no row holds it");
    }
    if (!incoming.supersedes(current)) {
      return incoming;
    }
    update.setString(1, value);
    update.setLong(2, incoming.version().hlc());
    update.setInt(3, incoming.version().nodeId());
    update.setInt(4, tombstone);
    update.setLong(5, incoming.expiresAt());
    update.setString(6, key);
    update.executeUpdate();
    return current;
  }

  /**
   * {@code incoming} as this store keeps it: the value in SQLite's stored form ({@code json(?)},
   * compact text), so that what the storage worker hands its listeners (the record cache among
   * them) is byte for byte what a read of the file returns. SQLite's {@code json()} changes a
   * value that the request parser accepted only by dropping insignificant whitespace, so a value
   * without any whitespace character is already stored as sent and costs no statement.
   */
  public Record storedForm(Record incoming) throws SQLException {
    String value = incoming.value();
    if (incoming.tombstone() || value == null || !hasWhitespace(value)) {
      return incoming;
    }
    compact.setString(1, value);
    try (ResultSet rs = compact.executeQuery()) {
      rs.next();
      return new Record(incoming.key(), rs.getString(1), incoming.version(), false, incoming.expiresAt());
    }
  }

  private static boolean hasWhitespace(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        return true;
      }
    }
    return false;
  }

  /** Keeps a hint unless the peer already has {@code maxPerPeer}; returns whether it was kept. */
  public boolean storeHint(int peer, Record r, long nowMillis, int maxPerPeer) throws SQLException {
    ensureTransaction();
    if (hintCount(peer) >= maxPerPeer) {
      return false;
    }
    insertHint.setInt(1, peer);
    insertHint.setString(2, r.key());
    insertHint.setString(3, r.tombstone() ? null : r.value());
    insertHint.setLong(4, r.version().hlc());
    insertHint.setInt(5, r.version().nodeId());
    insertHint.setInt(6, r.tombstone() ? 1 : 0);
    insertHint.setLong(7, r.expiresAt());
    insertHint.setLong(8, nowMillis);
    insertHint.executeUpdate();
    pendingHintCounts.merge(peer, 1L, Long::sum);
    return true;
  }

  public void deleteHints(int peer, List<Long> ids) throws SQLException {
    ensureTransaction();
    long deleted = 0;
    for (long id : ids) {
      deleteHint.setLong(1, id);
      deleted += deleteHint.executeUpdate();
    }
    pendingHintCounts.merge(peer, -deleted, Long::sum);
  }

  /** The peer's hints, counting those stored or deleted in the open transaction. */
  public long hintCount(int peer) {
    return hintCounts.getOrDefault(peer, 0L) + pendingHintCounts.getOrDefault(peer, 0L);
  }

  /** Drops a peer's hints older than the hint window; anti-entropy covers what they held. */
  public int dropHintsOlderThan(int peer, long createdBeforeMillis) throws SQLException {
    ensureTransaction();
    dropOldHints.setInt(1, peer);
    dropOldHints.setLong(2, createdBeforeMillis);
    int dropped = dropOldHints.executeUpdate();
    pendingHintCounts.merge(peer, (long) -dropped, Long::sum);
    return dropped;
  }

  /** Deletes the key's row if it still holds exactly {@code r}'s version; returns whether it did. */
  public boolean deleteIfVersion(Record r) throws SQLException {
    ensureTransaction();
    deleteIfVersion.setString(1, r.key());
    deleteIfVersion.setLong(2, r.version().hlc());
    deleteIfVersion.setInt(3, r.version().nodeId());
    return deleteIfVersion.executeUpdate() == 1;
  }

  /**
   * Deletes up to {@code limit} tombstones whose version is older than {@code hlc}, oldest first
   * (through the {@code kv_tombstones} index); returns the ones it removed. The newest version
   * ever purged is kept ({@link #purgedUpTo()}): a node that was cut off since before it missed a
   * delete that is gone for good.
   */
  public List<Record> purgeTombstonesBefore(long hlc, int limit) throws SQLException {
    ensureTransaction();
    selectTombstones.setLong(1, hlc);
    selectTombstones.setInt(2, limit);
    List<Record> purged = new java.util.ArrayList<>();
    try (ResultSet rs = selectTombstones.executeQuery()) {
      while (rs.next()) {
        purged.add(Record.tombstone(rs.getString(1), new Version(rs.getLong(2), rs.getInt(3))));
      }
    }
    return deleteAll(purged);
  }

  /**
   * Deletes up to {@code limit} records whose TTL ran out before {@code millis}, soonest expired
   * first; returns the ones it removed. Their versions move {@link #purgedUpTo()} as a purged
   * tombstone's does: a node cut off since before such a write holds an older version that
   * repair must not bring back.
   */
  public List<Record> purgeExpiredBefore(long millis, int limit) throws SQLException {
    ensureTransaction();
    List<Record> purged = new java.util.ArrayList<>();
    try (PreparedStatement select = conn.prepareStatement("SELECT key, hlc, node, expires_at FROM kv "
        + "WHERE expires_at > 0 AND expires_at < ? AND tombstone = 0 ORDER BY expires_at LIMIT ?")) {
      select.setLong(1, millis);
      select.setInt(2, limit);
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          purged.add(new Record(rs.getString(1), null, new Version(rs.getLong(2), rs.getInt(3)), false, rs.getLong(4)));
        }
      }
    }
    return deleteAll(purged);
  }

  /** Deletes the purged records (at their versions) and moves {@link #purgedUpTo()} past the newest. */
  private List<Record> deleteAll(List<Record> purged) throws SQLException {
    long newest = 0;
    for (Record r : purged) {
      deleteIfVersion(r);
      newest = Math.max(newest, r.version().hlc());
    }
    if (newest > purgedUpTo()) {
      putMeta(META_PURGED_UP_TO, Long.toString(newest));
    }
    return purged;
  }

  /** The newest version (hlc) of a tombstone or expired record ever purged here; 0 when none was. */
  public long purgedUpTo() throws SQLException {
    String v = meta(META_PURGED_UP_TO);
    try {
      return v == null ? 0 : Long.parseLong(v);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** Records the clock's high-water mark; part of every commit. */
  public void saveHighWater(long hlc) throws SQLException {
    ensureTransaction();
    saveHighWater.setLong(1, hlc);
    saveHighWater.executeUpdate();
  }

  /** Meta names of the stale-replica rule (README, "Stale replicas"). */
  public static final String META_IN_TOUCH = "in_touch";
  public static final String META_STALE = "stale";
  public static final String META_REBUILT = "rebuilt";
  public static final String META_PURGED_UP_TO = "purged_up_to";
  /** The membership view this node runs with (JSON, README "Membership"). */
  public static final String META_VIEW = "membership_view";

  /** Sets a meta value (overwriting it) inside the open transaction. */
  public void putMeta(String name, String value) throws SQLException {
    ensureTransaction();
    putMeta.setString(1, name);
    putMeta.setString(2, value);
    putMeta.executeUpdate();
  }

  /** A meta value, or null when it was never set. */
  public String meta(String name) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement("SELECT value FROM meta WHERE name = ?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  /**
   * When this node was in touch with the cluster, as persisted (the JSON of the cluster package's
   * in-touch stretches, this node's own wall clock, never a record's version); null when it never
   * was. A database written before this was kept has its last commit time ('alive') instead.
   */
  public String inTouch() throws SQLException {
    String v = meta(META_IN_TOUCH);
    return v != null ? v : meta("alive");
  }

  /** Why this node was found stale (it stays so until DATA_DIR is wiped), or null. */
  public String staleReason() throws SQLException {
    return meta(META_STALE);
  }

  /**
   * Whether this database ever completed its first repair round with its peers. A new (or wiped)
   * database has not: the node answers no read until it has. A database from before this was
   * recorded ('alive' set) counts as rebuilt.
   */
  public boolean rebuilt() throws SQLException {
    return meta(META_REBUILT) != null || meta("alive") != null;
  }

  /**
   * Removes every record and hint and the replica's standing (rebuilt, in touch, stale), in one
   * committed transaction: a node that left the cluster holds nothing any longer, and joins again
   * as a new replica.
   */
  public void deleteAllRecords() throws SQLException {
    ensureTransaction();
    try (Statement st = conn.createStatement()) {
      st.executeUpdate("DELETE FROM kv");
      st.executeUpdate("DELETE FROM hints");
      st.executeUpdate("DELETE FROM meta WHERE name IN ('" + META_REBUILT + "', 'alive', '" + META_IN_TOUCH + "', '" + META_STALE + "')");
    }
    commit();
  }

  /** How many records (tombstones included) the file holds; the total of the start-up digest rebuild. */
  public long recordCount() throws SQLException {
    try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM kv")) {
      return rs.getLong(1);
    }
  }

  /** Every record's key, version and tombstone flag (no values); for rebuilding digests at start-up. */
  public void forEachVersion(java.util.function.Consumer<Record> consumer) throws SQLException {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT key, hlc, node, tombstone FROM kv")) {
      while (rs.next()) {
        consumer.accept(new Record(rs.getString(1), null, new Version(rs.getLong(2), rs.getInt(3)), rs.getInt(4) != 0, 0));
      }
    }
  }

  /**
   * Transactions are explicit statements (the connection stays in auto-commit mode), because
   * SQLite may roll a transaction back by itself (SQLITE_FULL, some I/O errors) and the driver's
   * own bookkeeping would then be wrong. Writing methods open one when none is open.
   */
  private void ensureTransaction() throws SQLException {
    if (!inTransaction) {
      begin.executeUpdate();
      inTransaction = true;
    }
  }

  private void exec(String sql) throws SQLException {
    try (Statement st = conn.createStatement()) {
      st.execute(sql);
    }
  }

  public void savepoint() throws SQLException {
    ensureTransaction();
    savepoint.executeUpdate();
  }

  /** Ends the innermost savepoint, keeping or undoing its changes; throws when SQLite already rolled back. */
  public void releaseSavepoint(boolean keep) throws SQLException {
    if (!keep) {
      rollbackToSavepoint.executeUpdate();
    }
    release.executeUpdate();
  }

  /**
   * Commits the open transaction. The transaction counts as open until COMMIT has succeeded: a
   * COMMIT that fails (a deferred constraint, a full disk or an I/O error while writing the WAL)
   * may leave SQLite's transaction open, and only {@link #rollback} ends it.
   */
  public void commit() throws SQLException {
    if (inTransaction) {
      commit.executeUpdate();
      inTransaction = false;
      pendingHintCounts.forEach((peer, delta) -> hintCounts.merge(peer, delta, Long::sum));
      pendingHintCounts.clear();
    }
  }

  /**
   * Ends whatever transaction is open, also one this object believes already ended: ROLLBACK is
   * always sent (SQLite refuses it harmlessly when nothing is open), so no failure path can leave
   * a transaction behind that makes every later BEGIN fail.
   */
  public void rollback() {
    inTransaction = false;
    pendingHintCounts.clear();
    try {
      exec("ROLLBACK");
    } catch (SQLException ignored) {
      // no transaction was open: SQLite had already rolled it back, or none had begun
    }
  }

  @Override
  public void close() throws SQLException {
    try (Statement st = conn.createStatement()) {
      commit();
      st.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      conn.close();
    }
  }
}
