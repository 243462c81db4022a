package io.distributedsqlite.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.TestCluster;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A COMMIT that fails (here a real one: a deferred foreign-key violation, which SQLite reports at
 * COMMIT and after which it keeps the transaction open) is rolled back: the write is refused with
 * a JSON 503/507, and the node commits the next writes instead of failing every later BEGIN.
 */
class CommitFailureTest {
  private static final Wire http = new Wire();

  @Test
  void aFailedCommitIsRolledBackAndLaterWritesSucceed(@TempDir Path dir) throws Exception {
    Path dataDir = dir.resolve("node-0");
    SqliteStore.open(dataDir, "NORMAL").close();
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(SqliteStore.FILE_NAME));
        Statement st = conn.createStatement()) {
      // Writing the key "poison" inserts a row whose deferred foreign key has no parent: every
      // statement succeeds, and the transaction's COMMIT fails.
      st.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
      st.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
      st.execute("CREATE TRIGGER poison_insert AFTER INSERT ON kv WHEN NEW.key = 'poison' "
          + "BEGIN INSERT INTO child VALUES (42); END");
    }
    try (TestCluster c = TestCluster.start(1, 1, dir)) {
      String base = c.baseUrl(0);
      assertEquals(200, http.call("POST", base + "/set", Wire.setBody("before", "1")).status());

      Wire.Resp refused = http.call("POST", base + "/set", Wire.setBody("poison", "2"));
      assertTrue(refused.status() == 503 || refused.status() == 507, refused::toString);
      assertTrue(refused.isJsonError(), refused::toString);

      for (int i = 0; i < 5; i++) {
        Wire.Resp after = http.call("POST", base + "/set", Wire.setBody("after-" + i, "{\"i\":" + i + "}"));
        assertEquals(200, after.status(), () -> "a write after the failed COMMIT: " + after);
      }
      assertEquals(200, http.call("GET", base + "/get?key=after-4", null).status());
      assertEquals(200, http.call("GET", base + "/get?key=before", null).status());
      assertEquals(404, http.call("GET", base + "/get?key=poison", null).status(), "the refused write was rolled back");
      assertTrue(Await.poll(Duration.ofSeconds(10), () -> http.call("GET", base + "/ready", null).status() == 200),
          "ready again once a commit succeeded");
    }
  }
}
