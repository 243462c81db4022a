package io.distributedsqlite.storage;

import java.sql.SQLException;
import java.sql.Statement;

/** The tables of a node's database; created idempotently at start-up. */
final class Schema {
  private Schema() {}

  static void create(Statement st) throws SQLException {
    // kv: one row per key, tombstones included. value is SQLite JSON text (NULL for a
    // tombstone); (hlc, node) is the version; bucket is the anti-entropy bucket of the key's hash.
    st.execute("CREATE TABLE IF NOT EXISTS kv ("
        + " key TEXT NOT NULL PRIMARY KEY,"
        + " value TEXT,"
        + " hlc INTEGER NOT NULL,"
        + " node INTEGER NOT NULL,"
        + " tombstone INTEGER NOT NULL DEFAULT 0,"
        + " expires_at INTEGER NOT NULL DEFAULT 0,"
        + " bucket INTEGER NOT NULL)");
    // Bucket listings page through (bucket, key); this index gives them that order without a sort.
    // It replaces kv_bucket(bucket) of earlier files (built once when such a file is opened).
    st.execute("CREATE INDEX IF NOT EXISTS kv_bucket_key ON kv(bucket, key)");
    st.execute("DROP INDEX IF EXISTS kv_bucket");
    st.execute("CREATE INDEX IF NOT EXISTS kv_tombstones ON kv(hlc) WHERE tombstone = 1");
    // The purge of expired records finds them by expiry (built once when an earlier file is opened).
    st.execute("CREATE INDEX IF NOT EXISTS kv_expiry ON kv(expires_at) WHERE expires_at > 0");
    // hints: writes a replica did not acknowledge, replayed in version order when it is back.
    st.execute("CREATE TABLE IF NOT EXISTS hints ("
        + " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        + " peer INTEGER NOT NULL,"
        + " key TEXT NOT NULL,"
        + " value TEXT,"
        + " hlc INTEGER NOT NULL,"
        + " node INTEGER NOT NULL,"
        + " tombstone INTEGER NOT NULL,"
        + " expires_at INTEGER NOT NULL,"
        + " created_at INTEGER NOT NULL)");
    st.execute("CREATE INDEX IF NOT EXISTS hints_by_peer ON hints(peer, hlc, node)");
    st.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT NOT NULL PRIMARY KEY, value)");
  }
}
