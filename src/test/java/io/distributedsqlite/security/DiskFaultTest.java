package io.distributedsqlite.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.support.TestCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk (simulated with SQLITE_MAX_DB_BYTES) refuses writes with 507 while reads, health and
 * the node itself keep working and readiness says why; a file at DATA_DIR/node.db that is not a
 * usable SQLite database stops start-up with a clear reason and is never touched.
 */
class DiskFaultTest {
  private static final Wire http = new Wire();

  private static final String VALUE = "\"" + "d".repeat(4096) + "\"";

  private static Map<String, String> smallDisk() {
    return Map.of("SQLITE_MAX_DB_BYTES", "300000", "MAX_VALUE_BYTES", "65536", "SQLITE_SYNCHRONOUS", "NORMAL");
  }

  /** Writes 4 KiB values until one is refused (bounded); returns the acknowledged keys, the refusal last. */
  private record Filled(List<String> stored, Wire.Resp refusal) {}

  private static Filled fillUntilRefused(String base) {
    List<String> stored = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      String key = "disk-" + i;
      Wire.Resp r = http.call("POST", base + "/set", Wire.setBody(key, VALUE));
      if (r.status() != 200) {
        assertTrue(stored.size() > 5, () -> "some writes fit before the disk is full; write " + key + ": " + r);
        return new Filled(stored, r);
      }
      stored.add(key);
    }
    throw new AssertionError("300 KB of database did not fill up within 400 writes of 4 KiB");
  }

  @Test
  void aFullDiskAnswers507InsufficientStorage(@TempDir Path dir) {
    try (TestCluster c = TestCluster.start(1, 1, dir, smallDisk())) {
      String base = c.baseUrl(0);
      Wire.Resp full = fillUntilRefused(base).refusal();
      assertEquals(507, full.status(), () -> "the first write that does not fit: " + full);
      assertTrue(full.isJsonError(), full::toString);
      assertEquals("insufficient_storage", full.json().getString("error"), full::toString);
      // and it stays that way: the next writes are refused the same way, not with another status
      for (int i = 0; i < 3; i++) {
        Wire.Resp again = http.call("POST", base + "/set", Wire.setBody("disk-again-" + i, VALUE));
        assertEquals(507, again.status(), again::toString);
        assertEquals("insufficient_storage", again.json().getString("error"), again::toString);
      }
    }
  }

  @Test
  void aFullDiskKeepsServingReadsAndHealthAndReportsNotReady(@TempDir Path dir) {
    try (TestCluster c = TestCluster.start(1, 1, dir, smallDisk())) {
      String base = c.baseUrl(0);
      Filled filled = fillUntilRefused(base);
      assertTrue(filled.refusal().status() >= 500 && filled.refusal().isJsonError(), filled.refusal()::toString);

      // readiness says the storage refuses writes; health stays ok
      Wire.Resp ready = http.call("GET", base + "/ready", null);
      assertEquals(503, ready.status(), ready::toString);
      assertTrue(ready.json().getString("reason", "").toLowerCase(Locale.ROOT).contains("storage"), ready::toString);
      assertEquals(200, http.call("GET", base + "/health", null).status());

      // reads keep working: every acknowledged key reads back
      for (String key : filled.stored()) {
        Wire.Resp r = http.call("GET", base + "/get?key=" + key, null);
        assertEquals(200, r.status(), () -> key + ": " + r);
        assertTrue(r.body().contains("\"value\":" + VALUE + ","), () -> key + " value");
      }
      // the node keeps answering everything else
      Wire.Resp again = http.call("POST", base + "/set", Wire.setBody("disk-again", VALUE));
      assertTrue(again.status() >= 500 && again.isJsonError(), again::toString);
      assertEquals(404, http.call("GET", base + "/get?key=disk-again", null).status());
      assertEquals(200, http.call("GET", base + "/metrics", null).status());
      assertEquals(200, http.call("GET", base + "/cluster", null).status());
      assertEquals(200, http.call("GET", base + "/health", null).status());
    }
  }

  @Test
  void aNodeDbThatIsNotSqliteStopsStartupAndStaysUntouched(@TempDir Path dir) throws Exception {
    byte[] junk = new byte[64 * 1024];
    new Random(42).nextBytes(junk);
    Path file = Files.createDirectories(dir.resolve("node-0")).resolve(SqliteStore.FILE_NAME);
    Files.write(file, junk);

    String why = startFailure(dir);
    assertTrue(why.contains("not an SQLite database"), () -> "reason: " + why);
    assertTrue(why.contains(file.toString()) || why.contains("node.db"), () -> "names the file: " + why);
    assertArrayEquals(junk, Files.readAllBytes(file), "the file is unchanged");
    assertTrue(!Files.exists(Path.of(file + "-wal")) || Files.size(Path.of(file + "-wal")) == 0, "no WAL written next to it");
  }

  @Test
  void aNodeDbWithAnSqliteHeaderButGarbageAfterItStopsStartupAndStaysUntouched(@TempDir Path dir) throws Exception {
    byte[] junk = new byte[32 * 1024];
    new Random(7).nextBytes(junk);
    byte[] magic = "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(magic, 0, junk, 0, magic.length);
    Path file = Files.createDirectories(dir.resolve("node-0")).resolve(SqliteStore.FILE_NAME);
    Files.write(file, junk);

    String why = startFailure(dir).toLowerCase(Locale.ROOT);
    assertTrue(why.contains("node.db"), () -> "names the file: " + why);
    assertTrue(why.contains("not a database") || why.contains("damaged") || why.contains("malformed") || why.contains("corrupt"),
        () -> "says what is wrong: " + why);
    assertArrayEquals(junk, Files.readAllBytes(file), "the file is unchanged");
  }

  @Test
  void aNodeDbWithValidHeaderAndDamagedPagesStopsStartupAndStaysUntouched(@TempDir Path dir) throws Exception {
    // a real database with data, then its pages after the first overwritten with garbage
    try (TestCluster c = TestCluster.start(1, 1, dir)) {
      for (int i = 0; i < 50; i++) {
        assertEquals(200, http.call("POST", c.baseUrl(0) + "/set", Wire.setBody("dmg-" + i, "\"" + "x".repeat(500) + "\"")).status());
      }
    }
    Path file = dir.resolve("node-0").resolve(SqliteStore.FILE_NAME);
    byte[] db = Files.readAllBytes(file);
    int pageSize = ((db[16] & 0xff) << 8 | (db[17] & 0xff)) == 1 ? 65536 : ((db[16] & 0xff) << 8 | (db[17] & 0xff));
    assertTrue(db.length > 2 * pageSize, "the database has more than one page: " + db.length);
    byte[] garbage = new byte[db.length - pageSize];
    new Random(11).nextBytes(garbage);
    System.arraycopy(garbage, 0, db, pageSize, garbage.length);
    Files.write(file, db);
    Files.deleteIfExists(Path.of(file + "-wal"));
    Files.deleteIfExists(Path.of(file + "-shm"));

    String why = startFailure(dir).toLowerCase(Locale.ROOT);
    assertTrue(why.contains("node.db"), () -> "names the file: " + why);
    assertTrue(why.contains("not a database") || why.contains("damaged") || why.contains("malformed") || why.contains("corrupt"),
        () -> "says what is wrong: " + why);
    assertArrayEquals(db, Files.readAllBytes(file), "the file is unchanged");
  }

  /** Starts one node on {@code dir}, expects it to fail, and returns the messages of the cause chain. */
  private static String startFailure(Path dir) {
    RuntimeException e = assertThrows(RuntimeException.class, () -> TestCluster.start(1, 1, dir).close(),
        "the node must not start");
    StringBuilder why = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      why.append(t.getMessage()).append(" | ");
    }
    assertTrue(!why.toString().contains("NullPointerException"), why::toString);
    return why.toString();
  }
}
