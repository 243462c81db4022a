package io.distributedsqlite.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code dsql} against a running node (with API tokens on): every subcommand, what it prints
 * where, and its exit codes for success, usage errors, absent keys, refused input, missing
 * tokens, unmet levels and unreachable nodes.
 */
class DsqlTest {
  private static final String RW = "cli-read-write-token";
  private static final String RO = "cli-read-only-token";
  @TempDir static Path dir;
  private static TestCluster cluster;
  private static String url;
  /** A loopback port nothing listens on: the first of the URLs, so every command fails over. */
  private static String dead;

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(1, 1, dir.resolve("data"), Map.of("API_TOKENS", RW + ":rw," + RO + ":ro",
        "BACKUP_DIR", dir.resolve("backups").toString()));
    url = cluster.baseUrl(0);
    dead = "http://127.0.0.1:" + TestCluster.freePort();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  record Run(int code, String out, String err) {
    JsonObject json() {
      return new JsonObject(out.strip());
    }

    List<String> lines() {
      return out.isBlank() ? List.of() : List.of(out.strip().split("\n"));
    }
  }

  private static Run dsql(String stdin, Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Dsql.run(args, env, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** With DSQL_URL (a dead node first, then the real one) and DSQL_TOKEN (read-write). */
  private static Run dsql(String... args) {
    return dsql("", Map.of("DSQL_URL", dead + "," + url, "DSQL_TOKEN", RW), args);
  }

  @Test
  void setGetDeleteRoundTripWithJsonOnStdout() {
    Run set = dsql("set", "cli:1", "{\"name\":\"ada\"}", "-w", "one");
    assertEquals(0, set.code(), set.toString());
    assertEquals("success", set.json().getString("status"));

    Run get = dsql("get", "cli:1", "-r", "all");
    assertEquals(0, get.code(), get.toString());
    assertEquals(new JsonObject().put("name", "ada"), get.json().getJsonObject("value"));
    assertEquals("", get.err(), "nothing on stderr on success");

    Run fromStdin = dsql("{\"from\":\"stdin\"}", Map.of("DSQL_URL", url, "DSQL_TOKEN", RW), "set", "cli:2");
    assertEquals(0, fromStdin.code(), fromStdin.toString());
    assertEquals("stdin", dsql("get", "cli:2").json().getJsonObject("value").getString("from"));
    assertEquals(0, dsql("set", "cli:3", "plain text", "--string").code());
    assertEquals("plain text", dsql("get", "cli:3").json().getString("value"));

    Run delete = dsql("delete", "cli:1");
    assertEquals(0, delete.code(), delete.toString());
    Run gone = dsql("get", "cli:1");
    assertEquals(Dsql.NOT_FOUND, gone.code());
    assertEquals("", gone.out(), "errors go to stderr only");
    assertTrue(gone.err().contains("not_found"), gone.err());
  }

  @Test
  void scanPrintsOneJsonLinePerKeyAcrossPages() {
    for (int i = 0; i < 25; i++) {
      assertEquals(0, dsql("set", String.format("scan:%03d", i), Integer.toString(i)).code());
    }
    Run scan = dsql("scan", "--prefix", "scan:", "--page-size", "7");
    assertEquals(0, scan.code(), scan.toString());
    assertEquals(25, scan.lines().size());
    for (int i = 0; i < 25; i++) {
      JsonObject item = new JsonObject(scan.lines().get(i));
      assertEquals(String.format("scan:%03d", i), item.getString("key"));
      assertEquals(i, item.getInteger("value"));
    }
    assertTrue(scan.err().contains("25 keys"), scan.err());
    Run keysOnly = dsql("scan", "--prefix", "scan:", "--keys-only", "--max", "10");
    assertEquals(10, keysOnly.lines().size());
    assertTrue(!new JsonObject(keysOnly.lines().get(0)).containsKey("value"));
    Run range = dsql("scan", "--start", "scan:010", "--end", "scan:013");
    assertEquals(3, range.lines().size());
    Run bad = dsql("scan", "--prefix", "x", "--page-size", "0");
    assertEquals(Dsql.REJECTED, bad.code());
    assertTrue(bad.err().contains("invalid_limit"), bad.err());
  }

  @Test
  void batchSendsJsonLinesInChunksAndReportsTheSummary(@TempDir Path tmp) throws Exception {
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < 120; i++) {
      lines.append("{\"op\":\"set\",\"key\":\"batch:").append(i).append("\",\"value\":{\"i\":").append(i).append("}}\n");
    }
    lines.append("\n{\"op\":\"delete\",\"key\":\"batch:0\"}\n");
    Path file = tmp.resolve("ops.jsonl");
    Files.writeString(file, lines);
    Run batch = dsql("batch", file.toString(), "--chunk", "50", "-w", "all");
    assertEquals(0, batch.code(), batch.toString());
    JsonObject summary = batch.json();
    assertEquals(121, summary.getLong("ops"));
    assertEquals(121, summary.getLong("met"));
    assertTrue(summary.getJsonArray("failed").isEmpty());
    assertEquals(Dsql.NOT_FOUND, dsql("get", "batch:0").code());
    assertEquals(119, dsql("get", "batch:119").json().getJsonObject("value").getInteger("i"));

    Run stdin = dsql("{\"op\":\"set\",\"key\":\"batch:s\",\"value\":1}\n", Map.of("DSQL_URL", url, "DSQL_TOKEN", RW), "batch");
    assertEquals(0, stdin.code(), stdin.toString());

    Run notJson = dsql("{\"op\":\"set\",\"key\":\"batch:x\",\"value\":1}\nnot json\n", Map.of("DSQL_URL", url, "DSQL_TOKEN", RW), "batch");
    assertEquals(Dsql.REJECTED, notJson.code());
    assertTrue(notJson.err().contains("line 2"), notJson.err());
    assertEquals(Dsql.NOT_FOUND, dsql("get", "batch:x").code(), "nothing of a bad input is sent");

    Run badOp = dsql("{\"op\":\"upsert\",\"key\":\"batch:y\",\"value\":1}\n", Map.of("DSQL_URL", url, "DSQL_TOKEN", RW), "batch");
    assertEquals(Dsql.REJECTED, badOp.code());
    assertTrue(badOp.err().contains("invalid_op"), badOp.err());
  }

  @Test
  void clusterBackupAndRepairPrintTheNodesAnswers(@TempDir Path tmp) throws Exception {
    Run view = dsql("cluster");
    assertEquals(0, view.code(), view.toString());
    assertEquals(1, view.json().getJsonArray("nodes").size());

    dsql("set", "backup:1", "1");
    Run backup = dsql("backup");
    assertEquals(0, backup.code(), backup.toString());
    String name = backup.json().getString("file");
    assertTrue(backup.json().getLong("records") >= 1);
    Run list = dsql("backup", "--list");
    assertEquals(0, list.code());
    assertTrue(list.out().contains(name));
    Path target = tmp.resolve("copy.db");
    Run download = dsql("backup", "--download", name, "-o", target.toString());
    assertEquals(0, download.code(), download.toString());
    assertEquals(Files.size(dir.resolve("backups").resolve(name)), Files.size(target));
    Run missing = dsql("backup", "--download", "nope.db", "-o", tmp.resolve("nope.db").toString());
    assertEquals(Dsql.NOT_FOUND, missing.code());
    assertTrue(!Files.exists(tmp.resolve("nope.db")) && !Files.exists(tmp.resolve("nope.db.partial")));

    Run repair = dsql("repair");
    assertEquals(0, repair.code(), repair.toString());
    assertTrue(repair.err().contains("repairing"));
  }

  @Test
  void exitCodesTellScriptsWhatHappened() {
    Run usage = dsql("get");
    assertEquals(Dsql.USAGE, usage.code());
    assertTrue(usage.err().contains("KEY"), usage.err());
    assertEquals(Dsql.USAGE, dsql("frobnicate").code());
    assertEquals(Dsql.USAGE, dsql().code());
    assertEquals(0, dsql("--help").code());

    Run noToken = dsql("", Map.of("DSQL_URL", url), "get", "k");
    assertEquals(Dsql.UNAUTHORISED, noToken.code());
    Run readOnly = dsql("", Map.of("DSQL_URL", url, "DSQL_TOKEN", RO), "set", "k", "1");
    assertEquals(Dsql.UNAUTHORISED, readOnly.code());
    assertTrue(readOnly.err().contains("forbidden"), readOnly.err());
    Run flagToken = dsql("", Map.of(), "get", "k", "--url", url, "--token", RO);
    assertEquals(Dsql.NOT_FOUND, flagToken.code(), "--url and --token work after the subcommand too: " + flagToken);

    Run badJson = dsql("set", "k", "{not json");
    assertEquals(Dsql.REJECTED, badJson.code());
    assertTrue(badJson.err().contains("invalid_json"), badJson.err());
    assertEquals(Dsql.REJECTED, dsql("get", "k", "-r", "most").code());

    Run unreachable = dsql("", Map.of("DSQL_URL", dead, "DSQL_TOKEN", RW), "get", "k");
    assertEquals(Dsql.UNREACHABLE, unreachable.code());
    assertTrue(unreachable.err().contains("no node answered"), unreachable.err());
    assertEquals("", unreachable.out());
  }

  @Test
  void anUnmetLevelExitsWithFour(@TempDir Path tmp) {
    try (TestCluster two = TestCluster.start(2, 2, tmp, Map.of("PEER_TIMEOUT", "5s"))) {
      Map<String, String> env = Map.of("DSQL_URL", two.baseUrl(0));
      // A node coordinates writes once it measured its clock against a majority (here: both
      // nodes); one write met at w=all first makes sure node 0 did before node 1 goes away.
      Run first = dsql("", env, "set", "warm", "1", "-w", "all");
      assertEquals(0, first.code(), first.toString());
      two.stopNode(1);
      Run write = dsql("", env, "set", "k", "1", "-w", "all");
      assertEquals(Dsql.NOT_MET, write.code(), write.toString());
      assertTrue(write.err().contains("unavailable"), write.err());
      Run batch = dsql("{\"op\":\"set\",\"key\":\"k\",\"value\":1}\n", env, "batch", "-w", "all");
      assertEquals(Dsql.NOT_MET, batch.code(), batch.toString());
      assertEquals(1, batch.json().getJsonArray("failed").size(), "the summary lists the op that did not meet w");
      Run scan = dsql("", env, "scan", "-r", "all");
      assertEquals(Dsql.NOT_MET, scan.code(), scan.toString());
    }
  }
}
