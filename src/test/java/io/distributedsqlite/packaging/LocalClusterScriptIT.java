package io.distributedsqlite.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.TestCluster;
import io.vertx.core.json.JsonArray;
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
 * fail with the node's reason, one node of a running cluster can be stopped, started and wiped
 * while the others keep serving, and a running cluster grows by a node and shrinks by one with
 * every key still readable.
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

  @Test
  void anAddedNodeJoinsAndADecommissionedNodeLeavesWithEveryKeyReadable(@TempDir Path dir) throws Exception {
    int base = consecutiveFreePorts(4);
    Path data = dir.resolve("data");
    Path out = dir.resolve("cluster.out");
    Process cluster = new ProcessBuilder(SCRIPT.toString(), "3", "--base-port", Integer.toString(base), "--data", data.toString())
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    List<String> nodes = List.of("http://127.0.0.1:" + base, "http://127.0.0.1:" + (base + 1),
        "http://127.0.0.1:" + (base + 2), "http://127.0.0.1:" + (base + 3));
    long node3Pid;
    try {
      assertTrue(Await.poll(Duration.ofSeconds(90), () -> read(out).contains("cluster of 3 nodes (RF=3) is up")), read(out));
      for (int i = 0; i < 60; i++) {
        assertEquals(200, http.set(nodes.get(i % 3), "before-" + i, "{\"i\":" + i + "}", "quorum").status(), "before-" + i);
      }

      Result add = run(dir, Duration.ofSeconds(300), "add", "--data", data.toString());
      assertEquals(0, add.exit(), add.output());
      assertTrue(add.output().contains("node 3 is ready"), add.output());
      assertTrue(Await.poll(Duration.ofSeconds(30), () -> memberStates(nodes.get(0)).equals(List.of("normal", "normal", "normal", "normal"))),
          "node 3 joined: " + memberStates(nodes.get(0)));
      node3Pid = Long.parseLong(Files.readString(data.resolve("node-3.pid")).trim());
      for (int i = 0; i < 60; i++) {
        assertEquals(200, http.set(nodes.get(i % 4), "after-" + i, "{\"i\":" + i + "}", "quorum").status(), "after-" + i);
      }

      Result leave = run(dir, Duration.ofSeconds(420), "decommission", "3", "--data", data.toString());
      assertEquals(0, leave.exit(), leave.output());
      assertTrue(leave.output().contains("node 3 has left"), leave.output());
      assertFalse(ProcessHandle.of(node3Pid).map(ProcessHandle::isAlive).orElse(false), "node 3's process is gone");
      assertEquals(0, http.get(nodes.get(3) + "/health").status(), "node 3 no longer answers");
      for (String node : nodes.subList(0, 3)) {
        assertTrue(Await.poll(Duration.ofSeconds(30), () -> {
          List<String> states = memberStates(node);
          return states.equals(List.of("normal", "normal", "normal"))
              || states.equals(List.of("normal", "normal", "normal", "left"));
        }), node + " sees node 3 gone: " + memberStates(node));
      }

      for (String prefix : List.of("before-", "after-")) {
        for (int i = 0; i < 60; i++) {
          ClusterHttp.Response r = http.read(nodes.get(i % 3), prefix + i, "quorum");
          assertEquals(200, r.status(), prefix + i + ": " + r);
          assertEquals(i, r.json().getJsonObject("value").getInteger("i"), prefix + i + ": " + r);
        }
      }

      Result again = run(dir, Duration.ofSeconds(30), "start-node", "3", "--data", data.toString());
      assertEquals(1, again.exit(), "a decommissioned ordinal is not started again: " + again.output());
    } finally {
      cluster.destroy(); // SIGTERM: the script stops every node it knows, the added one included
      assertTrue(cluster.waitFor(60, TimeUnit.SECONDS), "the script stopped its nodes and exited");
    }
    assertEquals(0, cluster.exitValue(), read(out));
    for (String node : nodes) {
      assertEquals(0, http.get(node + "/health").status(), node + " stopped: " + read(out));
    }
  }

  /** The states of the members of a node's membership view, in ordinal order; empty when it does not answer. */
  private List<String> memberStates(String node) {
    ClusterHttp.Response r = http.get(node + "/cluster");
    if (r.status() != 200 || r.json() == null || r.json().getJsonObject("view") == null) {
      return List.of();
    }
    JsonArray members = r.json().getJsonObject("view").getJsonArray("members");
    List<String> states = new java.util.ArrayList<>();
    for (int i = 0; i < members.size(); i++) {
      states.add(members.getJsonObject(i).getString("state"));
    }
    return states;
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
