package io.distributedsqlite.multikey;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.Version;
import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online backups ({@code POST /admin/backup}) taken while writes go on, and a local cluster
 * restored from a cluster backup ({@code bin/backup-cluster}, {@code bin/restore-cluster}).
 */
class BackupTest {
  /** Peers get longer to answer than the default test setting: CI machines run several builds at once. */
  private static final Map<String, String> LOADED_MACHINE = Map.of("PEER_TIMEOUT", "5s");
  private final ClusterHttp http = new ClusterHttp();

  @Test
  void backupTakenUnderWritesIsAValidDatabaseWithEveryAcknowledgedRecordUpToItsVersion(@TempDir Path dir) throws Exception {
    try (TestCluster c = TestCluster.start(1, 1, dir.resolve("data"), Map.of("BACKUP_DIR", dir.resolve("backups").toString(), "PEER_TIMEOUT", "5s"))) {
      String base = c.baseUrl(0);
      Map<String, Version> acked = new ConcurrentHashMap<>();
      AtomicBoolean stop = new AtomicBoolean();
      Thread writer = new Thread(() -> {
        ClusterHttp w = new ClusterHttp();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int n = 0; n < 20_000 && !stop.get() && System.nanoTime() < deadline; n++) {
          String key = "w/" + (n % 700);
          Response r = n % 10 == 9 ? w.remove(base, key, "one") : w.set(base, key, "{\"n\":" + n + "}", "one");
          if (r.status() == 200) {
            acked.merge(key, Version.parse(r.json().getString("version")), (a, b) -> a.isNewerThan(b) ? a : b);
          }
        }
      });
      writer.start();
      try {
        assertTrue(Await.poll(Duration.ofSeconds(30), () -> acked.size() >= 300), "writes are flowing");
        Map<String, Version> ackedBefore = new HashMap<>(acked);
        Response r = http.post(base + "/admin/backup", "");
        assertEquals(200, r.status(), r.toString());
        JsonObject info = r.json();
        int ackedAtBackup = acked.size();
        assertTrue(Await.poll(Duration.ofSeconds(30), () -> acked.size() > ackedAtBackup || acked.values().stream()
            .anyMatch(v -> v.isNewerThan(Version.parse(info.getString("highest_version"))))), "writes went on after the backup");
        stop.set(true);
        writer.join(30_000);

        Path file = dir.resolve("backups").resolve(info.getString("file"));
        assertEquals(Files.size(file), info.getLong("bytes"));
        Version highest = Version.parse(info.getString("highest_version"));
        Map<String, Version> inBackup = new TreeMap<>();
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = db.createStatement()) {
          try (ResultSet rs = st.executeQuery("PRAGMA integrity_check")) {
            rs.next();
            assertEquals("ok", rs.getString(1));
          }
          try (ResultSet rs = st.executeQuery("SELECT key, hlc, node FROM kv")) {
            while (rs.next()) {
              inBackup.put(rs.getString(1), new Version(rs.getLong(2), rs.getInt(3)));
            }
          }
        }
        assertEquals(info.getLong("records").longValue(), inBackup.size());
        for (var e : ackedBefore.entrySet()) {
          Version v = inBackup.get(e.getKey());
          assertNotNull(v, "a write acknowledged before the backup is in it: " + e.getKey());
          assertTrue(!e.getValue().isNewerThan(v), e.getKey() + " in the backup is at least as new as acknowledged before it");
        }
        int checked = 0;
        for (var e : acked.entrySet()) {
          if (!e.getValue().isNewerThan(highest)) {
            Version v = inBackup.get(e.getKey());
            assertNotNull(v, "acknowledged " + e.getKey() + " at " + e.getValue() + " <= highest " + highest + " is in the backup");
            assertTrue(!e.getValue().isNewerThan(v), e.getKey() + ": backup holds " + v + ", acknowledged " + e.getValue());
            checked++;
          }
        }
        assertTrue(checked >= 300, "checked " + checked + " acknowledged records");

        JsonObject listed = http.get(base + "/admin/backups").json();
        JsonArray backups = listed.getJsonArray("backups");
        assertEquals(1, backups.size());
        assertEquals(info.getString("file"), backups.getJsonObject(0).getString("file"));
        HttpResponse<byte[]> download = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create(base + "/admin/backups/" + info.getString("file"))).build(),
            HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, download.statusCode());
        assertArrayEquals(Files.readAllBytes(file), download.body(), "the streamed backup is the file");
        for (String bad : List.of("..%2Fdata%2Fnode-0%2Fnode.db", "nothing.db", "node.txt")) {
          Response missing = http.get(base + "/admin/backups/" + bad);
          assertEquals(404, missing.status(), bad + ": " + missing);
          assertEquals("not_found", missing.json().getString("error"));
        }
      } finally {
        stop.set(true);
        writer.join(30_000);
      }
    }
  }

  @Test
  void aLocalClusterRestoredFromAClusterBackupHoldsExactlyWhatItHeldAtBackupTime(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path backup = dir.resolve("cluster-backup");
    TestCluster c = TestCluster.start(3, 2, data, LOADED_MACHINE);
    try {
      List<String> bases = List.of(c.baseUrl(0), c.baseUrl(1), c.baseUrl(2));
      http.awaitAllUp(bases, Duration.ofSeconds(10));
      batch(c.baseUrl(0), "r/", 0, 200, false);
      batch(c.baseUrl(1), "r/", 0, 20, true);
      TreeMap<String, JsonObject> atBackup = everything(c.baseUrl(2));
      assertEquals(180, atBackup.size());

      run("bin/backup-cluster", backup.toString(), "--urls", String.join(",", bases));
      for (int i = 0; i < 3; i++) {
        assertTrue(Files.size(backup.resolve("node-" + i + ".db")) > 0);
      }
      // After the backup: new keys, overwrites, deletes (also of a key deleted and re-set).
      batch(c.baseUrl(0), "r/", 200, 250, false);
      batch(c.baseUrl(0), "r/", 30, 60, false);
      batch(c.baseUrl(2), "r/", 100, 130, true);
      batch(c.baseUrl(1), "r/", 5, 6, false);
      assertTrue(!everything(c.baseUrl(0)).equals(atBackup));

      c.close();
      run("bin/restore-cluster", backup.toString(), "--data", data.toString());
      for (int i = 0; i < 3; i++) {
        c.startNode(i);
      }
      http.awaitAllUp(bases, Duration.ofSeconds(10));
      for (int i = 0; i < 3; i++) {
        assertEquals(atBackup, everything(c.baseUrl(i)), "node " + i + " coordinates a scan of the backup-time state");
      }
      for (int i = 0; i < 3; i++) {
        assertEquals(404, http.local(c.baseUrl(i), "r/210").status(), "a key written after the backup is gone from node " + i);
      }
    } finally {
      c.close();
    }
  }

  @Test
  void aNodeStartedWithRestoreFromServesTheSnapshotAndKeepsItsOwnDataOnRestart(@TempDir Path dir) {
    Path backups = dir.resolve("backups");
    String file;
    try (TestCluster c = TestCluster.start(1, 1, dir.resolve("first"), Map.of("BACKUP_DIR", backups.toString()))) {
      batch(c.baseUrl(0), "s/", 0, 50, false);
      Response r = http.post(c.baseUrl(0) + "/admin/backup", "");
      assertEquals(200, r.status(), r.toString());
      assertEquals(50, r.json().getLong("records"));
      file = r.json().getString("file");
    }
    Map<String, String> restore = Map.of("RESTORE_FROM", backups.resolve(file).toString());
    try (TestCluster c = TestCluster.start(1, 1, dir.resolve("second"), restore)) {
      assertEquals(50, everything(c.baseUrl(0)).size(), "the new node starts on the snapshot");
      batch(c.baseUrl(0), "s/", 50, 60, false);
      c.stopNode(0);
      c.startNode(0);
      assertEquals(60, everything(c.baseUrl(0)).size(), "a restart with RESTORE_FROM still set keeps the node's own data");
    }
    Map<String, String> missing = Map.of("RESTORE_FROM", dir.resolve("no-such.db").toString());
    IllegalStateException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
        () -> TestCluster.start(1, 1, dir.resolve("third"), missing));
    assertTrue(String.valueOf(refused.getCause()).contains("RESTORE_FROM"), "the reason names the setting: " + refused.getCause());
  }

  private void batch(String base, String prefix, int from, int to, boolean delete) {
    JsonArray ops = new JsonArray();
    for (int i = from; i < to; i++) {
      ops.add(delete ? new JsonObject().put("op", "delete").put("key", prefix + i)
          : new JsonObject().put("op", "set").put("key", prefix + i).put("value", new JsonObject().put("i", i).put("at", System.nanoTime())));
    }
    Response r = http.post(base + "/batch?w=all", new JsonObject().put("ops", ops).encode());
    assertEquals(200, r.status(), r.toString());
  }

  /** Every live key with its value, through one coordinator at r=all. */
  private TreeMap<String, JsonObject> everything(String base) {
    TreeMap<String, JsonObject> out = new TreeMap<>();
    String cursor = null;
    do {
      Response r = http.get(base + "/scan?r=all&limit=1000" + (cursor == null ? "" : "&cursor=" + ClusterHttp.enc(cursor)));
      assertEquals(200, r.status(), r.toString());
      for (Object o : r.json().getJsonArray("items")) {
        JsonObject item = (JsonObject) o;
        out.put(item.getString("key"), item.getJsonObject("value"));
      }
      cursor = r.json().getString("cursor");
    } while (cursor != null);
    return out;
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), command[0] + " finished");
    assertEquals(0, p.exitValue(), command[0] + " failed:\n" + out);
  }
}
