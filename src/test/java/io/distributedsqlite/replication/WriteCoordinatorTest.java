package io.distributedsqlite.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.cluster.PeerStatus;
import io.distributedsqlite.cluster.PeerView;
import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.http.NodeServices;
import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.OnEventLoop;
import io.distributedsqlite.support.TestCluster;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@link WriteCoordinator} built on node 0 of a real three-node cluster (RF 3), with node 2
 * stopped and seen down in the coordinator's {@link PeerView}: what each write level
 * acknowledges, and that node 2's copy is kept as a hint.
 */
class WriteCoordinatorTest {
  @TempDir
  static Path dir;
  private static TestCluster cluster;
  private static OnEventLoop loop;
  private static WriteCoordinator writes;
  private static NodeServices node0;
  private final ClusterHttp http = new ClusterHttp();

  @BeforeAll
  static void start() {
    // Anti-entropy would copy the writes to the replicas as well; hints are what is looked at here.
    cluster = TestCluster.start(3, 3, dir, Map.of("ANTI_ENTROPY_INTERVAL", "1h"));
    cluster.stopNode(2);
    node0 = cluster.node(0).services();
    loop = new OnEventLoop(cluster.node(0).vertx());
    writes = loop.get(() -> {
      PeerView peers = new PeerView(3);
      peers.apply(new PeerStatus(2, false, "stopped by the test"));
      return new WriteCoordinator(cluster.node(0).vertx(), node0.config(), node0.view(), node0.offsets(),
          new PeerClient(cluster.node(0).vertx(), node0.config(), node0.view()), peers, new SimpleMeterRegistry());
    });
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private WriteOutcome write(String key, Consistency level) {
    return loop.await(() -> writes.write(new WriteRequest(key, "\"v-" + key + "\"", false, 0, level)));
  }

  private long hintsForNode2() {
    return loop.await(() -> node0.reader().hintCounts()).getOrDefault(2, 0L);
  }

  @Test
  void withOneReplicaDownOneAndQuorumAreMetAndAllIsNotAndTheDownReplicaGetsAHint() {
    long hintsBefore = hintsForNode2();

    WriteOutcome one = write("w-one", Consistency.ONE);
    assertTrue(one.met(), one::toString);
    assertEquals(1, one.required());
    assertTrue(one.acked() >= 1, one::toString);

    WriteOutcome quorum = write("w-quorum", Consistency.QUORUM);
    assertTrue(quorum.met(), quorum::toString);
    assertEquals(2, quorum.required());
    assertEquals(2, quorum.acked(), "nodes 0 and 1");

    WriteOutcome all = write("w-all", Consistency.ALL);
    assertFalse(all.met(), "two replicas up cannot meet w=all (the client gets 503): " + all);
    assertEquals(3, all.required());
    assertEquals(2, all.acked(), "the refusal reports the final count, every replica settled");
    assertNull(all.localRefusal(), "no local refusal behind it: " + all);
    assertEquals(3, all.replicas());

    // Every level still wrote to both replicas that are up...
    for (String key : new String[] {"w-one", "w-quorum", "w-all"}) {
      for (int node = 0; node < 2; node++) {
        int n = node;
        assertTrue(Await.poll(Duration.ofSeconds(10), () -> http.local(cluster.baseUrl(n), key).status() == 200),
            key + " on node " + node);
      }
    }
    // ...and kept node 2's copy of each as a hint on node 0.
    assertTrue(Await.poll(Duration.ofSeconds(10), () -> hintsForNode2() == hintsBefore + 3),
        "three hints for node 2, found " + (hintsForNode2() - hintsBefore));
  }
}
