package io.distributedsqlite.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.TestCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/local-cluster} as a newcomer runs it: a configuration a node refuses makes the script
 * fail with the node's reason, and one node of a running cluster can be stopped, started and
 * wiped while the others keep serving.
 */
class LocalClusterScriptIT {
  private static final Path SCRIPT = Path.of("bin/local-cluster").toAbsolutePath();
  private final ClusterHttp http = new ClusterHttp();

  @Test
  void aConfigurationANodeRefusesFailsTheScriptWithTheNodesReason(@TempDir Path dir) throws Exception {
    int base = consecutiveFreePorts(3);
    Result r = run(dir, Duration.ofSeconds(60), "3", "--rf", "5", "--base-port", Integer.toString(base), "--data", dir.resolve("data").toString());
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("REPLICATION_FACTOR=5 exceeds CLUSTER_SIZE=3"), r.output());
    assertFalse(r.output().contains("is up: http://127.0.0.1:" + base + " .."), r.output());
  }

  @Test
  void oneNodeOfARunningClusterCanBeStoppedStartedAndWiped(@TempDir Path dir) throws Exception {
    int base = consecutiveFreePorts(2);
    Path data = dir.resolve("data");
    Path out = dir.resolve("cluster.out");
    Process cluster = new ProcessBuilder(SCRIPT.toString(), "2", "--base-port", Integer.toString(base), "--data", data.toString())
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    try {
      String n0 = "http://127.0.0.1:" + base;
      String n1 = "http://127.0.0.1:" + (base + 1);
      assertTrue(Await.poll(Duration.ofSeconds(60), () -> read(out).contains("cluster of 2 nodes (RF=2) is up")), read(out));
      assertEquals(200, http.set(n0, "k", "{\"a\":1}", "all").status());

      Result stop = run(dir, Duration.ofSeconds(40), "stop-node", "1", "--data", data.toString());
      assertEquals(0, stop.exit(), stop.output());
      assertEquals(0, http.get(n1 + "/health").status(), "node 1 no longer answers");
      assertEquals(200, http.get(n0 + "/health").status(), "node 0 keeps serving");

      Result start = run(dir, Duration.ofSeconds(60), "start-node", "1", "--data", data.toString());
      assertEquals(0, start.exit(), start.output());
      assertEquals(200, http.local(n1, "k").status(), "node 1 restarted on its data");

      Result again = run(dir, Duration.ofSeconds(60), "start-node", "1", "--data", data.toString());
      assertEquals(1, again.exit(), "a running node is not started twice: " + again.output());

      Result wipe = run(dir, Duration.ofSeconds(60), "wipe-node", "1", "--data", data.toString());
      assertEquals(0, wipe.exit(), wipe.output());
      assertTrue(Await.poll(Duration.ofSeconds(30), () -> http.local(n1, "k").status() == 200),
          "the wiped node rebuilds the key from node 0");

      Result bad = run(dir, Duration.ofSeconds(10), "stop-node", "7", "--data", data.toString());
      assertEquals(1, bad.exit(), bad.output());
    } finally {
      cluster.destroy(); // SIGTERM: the script stops every node it knows, restarted ones included
      assertTrue(cluster.waitFor(60, TimeUnit.SECONDS), "the script stopped its nodes and exited");
    }
    assertEquals(0, cluster.exitValue(), read(out));
    assertEquals(0, http.get("http://127.0.0.1:" + (base + 1) + "/health").status(), read(out));
    assertEquals(0, http.get("http://127.0.0.1:" + base + "/health").status(), read(out));
  }

  private record Result(int exit, String output) {}

  private static Result run(Path dir, Duration limit, String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of(SCRIPT.toString()));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(dir, "run", ".out");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("bin/local-cluster " + String.join(" ", args) + " did not finish within " + limit + ": " + read(out));
    }
    return new Result(p.exitValue(), read(out));
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** A base port whose {@code count} successors are free too (the script numbers ports from it). */
  private static int consecutiveFreePorts(int count) {
    for (int attempt = 0; attempt < 200; attempt++) {
      int base = TestCluster.freePort();
      boolean free = true;
      for (int i = 1; i < count && free; i++) {
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
          s.bind(new java.net.InetSocketAddress("127.0.0.1", base + i));
        } catch (IOException taken) {
          free = false;
        }
      }
      if (free) {
        return base;
      }
    }
    throw new IllegalStateException("no run of " + count + " free ports");
  }
}
