package io.distributedsqlite.repair;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.TestCluster;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteConfig;

/**
 * Records whose TTL ran out are purged from the SQLite file TOMBSTONE_GRACE after they expired, on
 * every replica, and stay purged through anti-entropy; until then they stay in the file and read
 * as absent. Two in-JVM nodes with RF=2, a grace of 10 s and a repair round every second.
 */
class ExpiredRecordPurgeTest {
  static final ClusterHttp http = new ClusterHttp();

  @TempDir
  Path dir;

  @Test
  void expiredRecordIsPurgedFromTheFileAfterTheGraceAndNotBefore() throws Exception {
    Map<String, String> env = Map.of("TOMBSTONE_GRACE", "10s", "HINT_WINDOW", "1s", "ANTI_ENTROPY_INTERVAL", "1s");
    try (TestCluster c = TestCluster.start(2, 2, dir, env)) {
      List<String> bases = List.of(c.baseUrl(0), c.baseUrl(1));
      http.awaitAllUp(bases, Duration.ofSeconds(20));
      // soon: expires after 1 s, past the grace after 11 s; later: expires after 8 s, past the grace
      // after 18 s. So when soon is gone, later has been expired for about 3 s (the purge runs every
      // second) and has about 7 s of its grace left: room for a loaded machine.
      assertEquals(200, http.post(c.baseUrl(0) + "/set?w=all&ttl=1", "{\"key\":\"soon\",\"value\":1}").status());
      assertEquals(200, http.post(c.baseUrl(0) + "/set?w=all&ttl=8", "{\"key\":\"later\",\"value\":2}").status());
      assertEquals(200, http.set(c.baseUrl(0), "kept", "3", "all").status());
      for (int i = 0; i < 2; i++) {
        assertTrue(inFile(c, i, "soon") && inFile(c, i, "later"), "both replicas hold the records");
      }

      assertTrue(Await.poll(Duration.ofSeconds(20), () -> !inFile(c, 0, "soon") && !inFile(c, 1, "soon")),
          "the record expired longer than TOMBSTONE_GRACE ago is still in node.db");
      // The purge has run since "later" expired (t+8 s), but its grace (until t+18 s) has not passed.
      for (int i = 0; i < 2; i++) {
        assertTrue(inFile(c, i, "later"), "an expired record was purged before its grace ran out, on node " + i);
        assertEquals(404, http.read(c.baseUrl(i), "later", "one").status(), "an expired record reads as absent");
        assertEquals(404, http.read(c.baseUrl(i), "soon", "all").status());
      }

      assertTrue(Await.poll(Duration.ofSeconds(20), () -> !inFile(c, 0, "later") && !inFile(c, 1, "later")),
          "the second expired record is purged once its grace ran out");
      // Anti-entropy runs every second: nothing brings the purged records back.
      awaitRepairRounds(c, 2);
      for (int i = 0; i < 2; i++) {
        assertTrue(!inFile(c, i, "soon") && !inFile(c, i, "later"), "repair brought a purged record back to node " + i);
        assertTrue(inFile(c, i, "kept"), "a record without a TTL is kept");
      }
      String metrics = http.get(c.baseUrl(0) + "/metrics").body();
      assertTrue(metrics.contains("dsqlite_purged_expired_records_total"), "the purge is counted");
    }
  }

  /** Waits until node 0's last repair with node 1 completed twice more. */
  private static void awaitRepairRounds(TestCluster c, int rounds) {
    String first = lastRepair(c);
    String[] seen = {first};
    int[] count = {0};
    assertTrue(Await.poll(Duration.ofSeconds(20), () -> {
      String now = lastRepair(c);
      if (now != null && !now.equals(seen[0])) {
        seen[0] = now;
        count[0]++;
      }
      return count[0] >= rounds;
    }), "anti-entropy rounds did not run");
  }

  private static String lastRepair(TestCluster c) {
    return http.get(c.baseUrl(0) + "/cluster").json().getJsonArray("nodes").getJsonObject(1).getString("last_repair");
  }

  /** Whether node {@code i}'s SQLite file holds a row for {@code key}, read from the file itself. */
  private static boolean inFile(TestCluster c, int i, String key) {
    SQLiteConfig ro = new SQLiteConfig();
    ro.setReadOnly(true);
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + c.dataDir(i).resolve(SqliteStore.FILE_NAME), ro.toProperties());
        PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM kv WHERE key = ?")) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.getLong(1) == 1;
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
