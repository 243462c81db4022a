package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.config.ConfigException;
import io.distributedsqlite.config.MemoryBudget;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.Peer;
import io.distributedsqlite.config.StatefulSetPeers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peers of a StatefulSet pod without PEERS: the original's StatefulSet (distributed-sqlite-nodes
 * behind distributed-sqlite-headless, only NODE_ID, POD_NAMESPACE, CLUSTER_SIZE and
 * REPLICATION_FACTOR set) and ours find each other with no further settings.
 */
class StatefulSetDiscoveryTest {

  private static final MemoryBudget BUDGET = new MemoryBudget(1L << 30, 512L << 20, 2);

  private static NodeConfig config(Optional<String> ownDnsName, String... kv) {
    Map<String, String> env = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      env.put(kv[i], kv[i + 1]);
    }
    return NodeConfig.fromEnvironment(env, ownDnsName, BUDGET);
  }

  private static List<String> hosts(NodeConfig c) {
    return c.peers().stream().map(Peer::host).toList();
  }

  @Test
  void theOriginalStatefulSetsEnvironmentFindsItsPeers() {
    NodeConfig c = config(Optional.empty(),
        "NODE_ID", "distributed-sqlite-nodes-1", "POD_NAMESPACE", "shop", "CLUSTER_SIZE", "3", "REPLICATION_FACTOR", "2");
    assertEquals(List.of(
        "distributed-sqlite-nodes-0.distributed-sqlite-headless.shop.svc.cluster.local",
        "distributed-sqlite-nodes-1.distributed-sqlite-headless.shop.svc.cluster.local",
        "distributed-sqlite-nodes-2.distributed-sqlite-headless.shop.svc.cluster.local"), hosts(c));
    assertEquals(1, c.nodeId());
    assertEquals(8080, c.self().port());
  }

  @Test
  void ourStatefulSetsEnvironmentFindsItsPeers() {
    NodeConfig c = config(Optional.empty(), "NODE_ID", "distributed-sqlite-2", "CLUSTER_SIZE", "3");
    assertEquals("distributed-sqlite-0.distributed-sqlite-headless.default.svc.cluster.local", hosts(c).get(0));
  }

  @Test
  void thePodsOwnDnsNameGivesServiceNamespaceAndDomain() {
    NodeConfig c = config(Optional.of("kv-1.kv-peers.prod.svc.corp.example."), "NODE_ID", "kv-1", "CLUSTER_SIZE", "2");
    assertEquals(List.of("kv-0.kv-peers.prod.svc.corp.example", "kv-1.kv-peers.prod.svc.corp.example"), hosts(c));
  }

  @Test
  void variablesWinOverTheDnsNameAndTheDnsNameOverDefaults() {
    NodeConfig c = config(Optional.of("kv-0.kv-peers.prod.svc.cluster.local"), "NODE_ID", "kv-0", "CLUSTER_SIZE", "2",
        "STATEFULSET_NAME", "store", "HEADLESS_SERVICE", "store-dns", "POD_NAMESPACE", "qa", "CLUSTER_DOMAIN", "k8s.local");
    assertEquals("store-1.store-dns.qa.svc.k8s.local", hosts(c).get(1));
    NodeConfig partial = config(Optional.of("kv-0.kv-peers.prod.svc.cluster.local"), "NODE_ID", "0", "CLUSTER_SIZE", "2",
        "POD_NAMESPACE", "qa");
    assertEquals("kv-1.kv-peers.qa.svc.cluster.local", hosts(partial).get(1), "set from the DNS name's pod, namespace from the variable");
  }

  @Test
  void aHostNameThatIsNotAPodsServiceNameIsIgnored() {
    NodeConfig c = config(Optional.of("build-7.example.com"), "NODE_ID", "distributed-sqlite-nodes-0", "CLUSTER_SIZE", "2");
    assertEquals("distributed-sqlite-nodes-1.distributed-sqlite-headless.default.svc.cluster.local", hosts(c).get(1));
  }

  @Test
  void aPlainOrdinalUsesTheDefaultNames() {
    NodeConfig c = config(Optional.empty(), "NODE_ID", "1", "CLUSTER_SIZE", "2");
    assertEquals("distributed-sqlite-0.distributed-sqlite-headless.default.svc.cluster.local", hosts(c).get(0));
    assertEquals(StatefulSetPeers.DEFAULT_SET + "-1." + StatefulSetPeers.DEFAULT_HEADLESS + ".default.svc.cluster.local",
        hosts(c).get(1));
  }

  @Test
  void explicitPeersNeedNoDiscovery() {
    NodeConfig c = config(Optional.of("kv-0.kv-peers.prod.svc.cluster.local"), "NODE_ID", "kv-0", "CLUSTER_SIZE", "2",
        "PEERS", "0=127.0.0.1:9000,1=127.0.0.1:9001");
    assertEquals(List.of("127.0.0.1", "127.0.0.1"), hosts(c));
  }

  @Test
  void namesThatAreNotDnsLabelsStopTheNode() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> config(Optional.empty(), "NODE_ID", "0", "CLUSTER_SIZE", "2", "HEADLESS_SERVICE", "My_Service"));
    assertTrue(e.getMessage().contains("HEADLESS_SERVICE=My_Service"), e.getMessage());
  }

  @Test
  void theOwnDnsNameComesFromTheLineOfEtcHostsThatNamesThePod(@TempDir Path dir) throws IOException {
    Path hosts = dir.resolve("hosts");
    Files.writeString(hosts, """
        # Kubernetes-managed hosts file.
        127.0.0.1\tlocalhost
        ::1\tlocalhost ip6-localhost ip6-loopback
        10.244.1.7\tdistributed-sqlite-nodes-0.distributed-sqlite-headless.default.svc.cluster.local\tdistributed-sqlite-nodes-0
        """);
    assertEquals(Optional.of("distributed-sqlite-nodes-0.distributed-sqlite-headless.default.svc.cluster.local"),
        StatefulSetPeers.ownDnsName(hosts, "distributed-sqlite-nodes-0"));
    assertEquals(Optional.empty(), StatefulSetPeers.ownDnsName(hosts, "other-0"));
    assertEquals(Optional.empty(), StatefulSetPeers.ownDnsName(dir.resolve("missing"), "distributed-sqlite-nodes-0"));
    Files.writeString(hosts, "172.18.0.3\tdistributed-sqlite-nodes-0\n"); // Docker: no domain
    assertEquals(Optional.empty(), StatefulSetPeers.ownDnsName(hosts, "distributed-sqlite-nodes-0"));
  }
}
