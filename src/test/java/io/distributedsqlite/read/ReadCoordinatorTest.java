package io.distributedsqlite.read;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.cluster.PeerClient;
import io.distributedsqlite.cluster.PeerStatus;
import io.distributedsqlite.cluster.PeerView;
import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.http.NodeServices;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.OnEventLoop;
import io.distributedsqlite.support.TestCluster;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@link ReadCoordinator} built on node 0 of a real three-node cluster (RF 3), all nodes
 * running, its {@link PeerView} seeing node 2 down: reads ask node 0 and node 1 only, answer with
 * the newest version and repair the replica that answered with an older one.
 */
class ReadCoordinatorTest {
  @TempDir
  static Path dir;
  private static TestCluster cluster;
  private static OnEventLoop loop;
  private static ReadCoordinator reads;
  private final ClusterHttp http = new ClusterHttp();

  @BeforeAll
  static void start() {
    // No anti-entropy during the test: a replica changes only through the coordinator's repair.
    cluster = TestCluster.start(3, 3, dir, Map.of("ANTI_ENTROPY_INTERVAL", "1h"));
    NodeServices node0 = cluster.node(0).services();
    loop = new OnEventLoop(cluster.node(0).vertx());
    reads = loop.get(() -> {
      PeerView peers = new PeerView(3);
      peers.apply(new PeerStatus(2, false, "seen down by the test"));
      return new ReadCoordinator(cluster.node(0).vertx(), node0.config(), node0.view(), node0.reader(),
          new PeerClient(cluster.node(0).vertx(), node0.config(), node0.view()), peers, node0.clock(), new SimpleMeterRegistry(), () -> true);
    });
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** A key whose replicas come in the order 0, 2, 1: without the view, node 2 would be asked before node 1. */
  private static String keyWithNode2BeforeNode1(String prefix) {
    for (int i = 0; ; i++) {
      String key = prefix + i;
      List<Integer> order = Arrays.stream(cluster.node(0).services().view().placement().replicasFor(key).all()).boxed().toList();
      if (order.indexOf(2) < order.indexOf(1)) {
        return key;
      }
    }
  }

  private ReadOutcome read(String key, Consistency level) {
    return loop.await(() -> reads.read(new ReadRequest(key, level)));
  }

  /** Writes {@code value} to node {@code node}'s storage alone, stamped by that node's clock. */
  private static void writeOnlyOn(int node, String key, String value) {
    Record r = Record.write(key, value, cluster.node(node).services().clock().now(), 0);
    new OnEventLoop(cluster.node(node).vertx()).await(() ->
        cluster.node(node).vertx().eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(List.of(r))));
  }

  @Test
  void aQuorumReadAnswersTheNewestVersionRepairsTheStaleReplicaAndLeavesTheDownOneAlone() {
    String key = keyWithNode2BeforeNode1("stale-");
    assertEquals(200, http.set(cluster.baseUrl(0), key, "\"old\"", "all").status());
    writeOnlyOn(1, key, "\"new\"");

    ReadOutcome out = read(key, Consistency.QUORUM);
    assertTrue(out.met(), out::toString);
    assertEquals("\"new\"", out.newest().value(), "node 1's newer version wins over node 0's");
    assertEquals(2, out.asked(), "node 0 and node 1; node 2 is seen down: " + out);
    assertEquals(2, out.answered());
    assertEquals(1, out.repaired(), "node 0 answered with the older version");

    assertTrue(Await.poll(Duration.ofSeconds(10),
        () -> "new".equals(http.local(cluster.baseUrl(0), key).json().getValue("value"))), "node 0 repaired");
    assertEquals("old", http.local(cluster.baseUrl(2), key).json().getValue("value"),
        "node 2 was not asked, so not repaired either");
  }

  @Test
  void aReadAtAllIsNotMetWithAReplicaSeenDown() {
    String key = keyWithNode2BeforeNode1("all-");
    assertEquals(200, http.set(cluster.baseUrl(0), key, "\"v\"", "all").status());
    ReadOutcome out = read(key, Consistency.ALL);
    assertFalse(out.met(), "node 2 is seen down, so r=all is not met (the client gets 503): " + out);
    assertEquals(3, out.required());
    assertEquals(2, out.answered());
    assertEquals("\"v\"", out.newest().value());
  }

  @Test
  void aKeyNoReplicaHoldsReadsAsNone() {
    ReadOutcome out = read("never-written", Consistency.QUORUM);
    assertTrue(out.met(), out::toString);
    assertNull(out.newest());
    assertEquals(0, out.repaired());
  }
}
