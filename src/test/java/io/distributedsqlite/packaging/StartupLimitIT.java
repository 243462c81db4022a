package io.distributedsqlite.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.NodeProcess;
import io.distributedsqlite.support.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node process (the shaded jar) logs its start-up steps and gives up with exit 1 and a clear
 * message when start-up takes longer than STARTUP_TIMEOUT.
 */
class StartupLimitIT {
  @TempDir
  Path dir;

  @Test
  void aNodeLogsItsStartupStepsAndServes() throws Exception {
    int port = TestCluster.freePort();
    try (NodeProcess node = new NodeProcess(NodeProcess.jar(), 0, port, dir.resolve("data"),
        NodeProcess.clusterEnv(0, new int[] {port}, 1, dir.resolve("data"), Map.of("STARTUP_TIMEOUT", "2m")))) {
      node.start();
      node.awaitHealthy(Duration.ofSeconds(60));
      String log = node.log();
      assertTrue(log.contains("start-up: opening and checking (quick_check)"), log);
      assertTrue(log.contains("start-up: rebuilding the digest index (0 records)"), log);
    }
  }

  @Test
  void aStartupLongerThanTheLimitEndsTheProcessWithExitOne() throws Exception {
    int port = TestCluster.freePort();
    try (NodeProcess node = new NodeProcess(NodeProcess.jar(), 0, port, dir.resolve("data"),
        NodeProcess.clusterEnv(0, new int[] {port}, 1, dir.resolve("data"), Map.of("STARTUP_TIMEOUT", "1ms")))) {
      node.start();
      assertTrue(Await.poll(Duration.ofSeconds(60), () -> !node.isAlive()), "the node gives up: " + node.logTail(20));
      assertEquals(1, node.terminate(Duration.ofSeconds(5)), node.logTail(20));
      assertTrue(node.logTail(20).contains("cannot start: not serving after STARTUP_TIMEOUT=PT0.001S"), node.logTail(20));
    }
  }
}
