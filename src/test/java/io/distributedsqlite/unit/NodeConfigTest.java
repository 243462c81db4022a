package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.config.ConfigException;
import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.config.MemoryBudget;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.Peer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class NodeConfigTest {

  private static Map<String, String> env(String... kv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  @Test
  void defaultsForASingleNode() {
    NodeConfig c = NodeConfig.fromEnvironment(Map.of());
    assertEquals(0, c.nodeId());
    assertEquals("0", c.nodeName());
    assertEquals(java.time.Duration.ofHours(1), c.strayGrace());
    assertEquals("0.0.0.0", c.host());
    assertEquals(8080, c.port());
    assertEquals(1, c.clusterSize());
    assertEquals(1, c.replicationFactor());
    assertEquals(List.of(new Peer(0, "127.0.0.1", 8080)), c.peers());
    assertEquals(c.peers().get(0), c.self());
    assertEquals(Path.of("./data"), c.dataDir());
    assertEquals(1 << 20, c.maxValueBytes());
    assertEquals(Consistency.ONE, c.writeConsistency());
    assertEquals(Consistency.QUORUM, c.readConsistency());
    assertEquals("FULL", c.sqliteSynchronous());
    assertEquals(1000, c.writeBatchMax());
    assertEquals(MemoryBudget.ofThisProcess().writeQueueMax(), c.writeQueueMax());
    assertEquals(MemoryBudget.ofThisProcess().readCacheBytes(), c.readCacheBytes());
    assertEquals(MemoryBudget.ofThisProcess().sqliteCacheKib(), c.sqliteCacheKib());
    assertTrue(c.readPoolSize() >= 2);
    assertTrue(c.httpInstances() >= 1);
    assertEquals(Duration.ofSeconds(2), c.peerTimeout());
    assertEquals(Duration.ofMillis(500), c.probeInterval());
    assertEquals(3, c.probeFailures());
    assertEquals(Duration.ofHours(3), c.hintWindow());
    assertEquals(1_000_000, c.hintMaxPerPeer());
    assertTrue(c.hintedHandoff());
    assertEquals(Duration.ofMinutes(5), c.antiEntropyInterval());
    assertEquals(Duration.ofDays(10), c.tombstoneGrace());
    assertEquals(Optional.empty(), c.clusterToken());
    assertEquals(Duration.ofSeconds(20), c.shutdownTimeout());
    assertEquals(Duration.ofMinutes(5), c.startupTimeout());
  }

  @Test
  void startupTimeoutIsReadAndMustBeADurationAboveZero() {
    assertEquals(Duration.ofMinutes(10), NodeConfig.fromEnvironment(env("STARTUP_TIMEOUT", "10m")).startupTimeout());
    assertThrows(ConfigException.class, () -> NodeConfig.fromEnvironment(env("STARTUP_TIMEOUT", "0s")));
    assertThrows(ConfigException.class, () -> NodeConfig.fromEnvironment(env("STARTUP_TIMEOUT", "forever")));
  }

  @Test
  void logFormatAndLevelAreCheckedSoATypoDoesNotSilenceTheLog() {
    NodeConfig.fromEnvironment(env("LOG_FORMAT", "json", "LOG_LEVEL", "debug"));
    NodeConfig.fromEnvironment(env("LOG_FORMAT", "text"));
    assertEquals("LOG_FORMAT=JSON is not one of [text, json]",
        assertThrows(ConfigException.class, () -> NodeConfig.fromEnvironment(env("LOG_FORMAT", "JSON"))).getMessage());
    assertThrows(ConfigException.class, () -> NodeConfig.fromEnvironment(env("LOG_LEVEL", "verbose")));
  }

  @Test
  void blankValuesMeanTheDefault() {
    NodeConfig c = NodeConfig.fromEnvironment(env("PORT", "", "REPLICATION_FACTOR", "  ", "PEER_TIMEOUT", "", "WRITE_CONSISTENCY", ""));
    assertEquals(8080, c.port());
    assertEquals(1, c.replicationFactor());
    assertEquals(Duration.ofSeconds(2), c.peerTimeout());
    assertEquals(Consistency.ONE, c.writeConsistency());
  }

  @Test
  void explicitValuesAreRead() {
    NodeConfig c = NodeConfig.fromEnvironment(env(
        "NODE_ID", "1", "PORT", "9001", "CLUSTER_SIZE", "3", "REPLICATION_FACTOR", "3",
        "PEERS", "2=c.local:9003, 0=a.local:9001,1=b.local:9002", "DATA_DIR", "/var/lib/dsqlite",
        "MAX_VALUE_BYTES", "2048", "WRITE_CONSISTENCY", "QUORUM", "READ_CONSISTENCY", "all",
        "SQLITE_SYNCHRONOUS", "normal", "PEER_TIMEOUT", "250ms", "TOMBSTONE_GRACE", "2d",
        "HINTED_HANDOFF", "off", "CLUSTER_TOKEN", "s3cret"));
    assertEquals(1, c.nodeId());
    assertEquals(List.of(new Peer(0, "a.local", 9001), new Peer(1, "b.local", 9002), new Peer(2, "c.local", 9003)), c.peers(),
        "peers are sorted by id");
    assertEquals(new Peer(1, "b.local", 9002), c.self());
    assertEquals(Path.of("/var/lib/dsqlite"), c.dataDir());
    assertEquals(2048, c.maxValueBytes());
    assertEquals(Consistency.QUORUM, c.writeConsistency());
    assertEquals(Consistency.ALL, c.readConsistency());
    assertEquals("NORMAL", c.sqliteSynchronous());
    assertEquals(Duration.ofMillis(250), c.peerTimeout());
    assertEquals(Duration.ofDays(2), c.tombstoneGrace());
    assertFalse(c.hintedHandoff());
    assertEquals(Optional.of("s3cret"), c.clusterToken());
  }

  @Test
  void nodeIdMayBeAStatefulSetPodName() {
    NodeConfig c = NodeConfig.fromEnvironment(env("NODE_ID", "distributed-sqlite-2", "CLUSTER_SIZE", "3", "REPLICATION_FACTOR", "2"));
    assertEquals(2, c.nodeId());
    assertEquals("distributed-sqlite-2", c.nodeName(), "node_id in answers is NODE_ID as configured");
    NodeConfig dashed = NodeConfig.fromEnvironment(env("NODE_ID", "my-kv-store-10", "CLUSTER_SIZE", "11"));
    assertEquals(10, dashed.nodeId());
    assertEquals("my-kv-store-10", dashed.nodeName());
  }

  @Test
  void peersFollowTheStatefulSetDnsPatternByDefault() {
    NodeConfig c = NodeConfig.fromEnvironment(env("NODE_ID", "distributed-sqlite-1", "CLUSTER_SIZE", "3", "REPLICATION_FACTOR", "3"));
    assertEquals(3, c.peers().size());
    for (int i = 0; i < 3; i++) {
      Peer p = c.peers().get(i);
      assertEquals(i, p.id());
      assertEquals("distributed-sqlite-" + i + ".distributed-sqlite-headless.default.svc.cluster.local", p.host());
      assertEquals(8080, p.port());
    }
    assertEquals("distributed-sqlite-1.distributed-sqlite-headless.default.svc.cluster.local:8080", c.self().address());
  }

  @Test
  void statefulSetDnsNamesFollowTheirSettings() {
    NodeConfig c = NodeConfig.fromEnvironment(env("NODE_ID", "kv-0", "CLUSTER_SIZE", "2", "PORT", "7000",
        "STATEFULSET_NAME", "kv", "HEADLESS_SERVICE", "kv-peers", "POD_NAMESPACE", "prod", "CLUSTER_DOMAIN", "example.internal"));
    assertEquals("kv-0.kv-peers.prod.svc.example.internal:7000", c.peers().get(0).address());
    assertEquals("kv-1.kv-peers.prod.svc.example.internal:7000", c.peers().get(1).address());
    NodeConfig derived = NodeConfig.fromEnvironment(env("CLUSTER_SIZE", "2", "STATEFULSET_NAME", "kv"));
    assertEquals("kv-1.distributed-sqlite-headless.default.svc.cluster.local", derived.peers().get(1).host(),
        "the headless service name defaults to the one the original and these manifests use");
  }

  static Stream<Arguments> badSettings() {
    return Stream.of(
        bad("RF greater than N", "REPLICATION_FACTOR", "CLUSTER_SIZE", "3", "REPLICATION_FACTOR", "4"),
        bad("RF zero", "REPLICATION_FACTOR", "REPLICATION_FACTOR", "0"),
        bad("RF negative", "REPLICATION_FACTOR", "REPLICATION_FACTOR", "-1"),
        bad("RF not a number", "REPLICATION_FACTOR", "REPLICATION_FACTOR", "three"),
        bad("CLUSTER_SIZE zero", "CLUSTER_SIZE", "CLUSTER_SIZE", "0"),
        bad("PORT zero", "PORT", "PORT", "0"),
        bad("PORT too high", "PORT", "PORT", "65536"),
        bad("PORT overflows int", "PORT", "PORT", "99999999999"),
        bad("PORT not a number", "PORT", "PORT", "80a"),
        bad("NODE_ID not an ordinal", "NODE_ID", "NODE_ID", "alpha"),
        bad("NODE_ID pod name without ordinal", "NODE_ID", "NODE_ID", "distributed-sqlite-"),
        bad("NODE_ID beyond the largest ordinal", "NODE_ID", "NODE_ID", "distributed-sqlite-1024", "CLUSTER_SIZE", "3"),
        bad("JOIN without a cluster to join", "JOIN", "NODE_ID", "0", "JOIN", "true"),
        bad("PEERS without this node", "PEERS", "NODE_ID", "3", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,1=b:2"),
        bad("NODE_ID negative", "NODE_ID", "NODE_ID", "-1", "CLUSTER_SIZE", "3"),
        bad("NODE_ID huge ordinal", "NODE_ID", "NODE_ID", "node-12345678901"),
        bad("duplicate PEERS ids", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,0=b:2"),
        bad("PEERS entry without port", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,1=b"),
        bad("PEERS entry without id", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,b:2"),
        bad("PEERS entry with text id", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,x=b:2"),
        bad("PEERS entry with text port", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,1=b:http"),
        bad("PEERS entry with port out of range", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,1=b:70000"),
        bad("PEERS entry with port overflowing int", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,1=b:99999999999"),
        bad("PEERS entry with id overflowing int", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,99999999999=b:2"),
        bad("PEERS empty entry", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,,1=b:2"),
        bad("PEERS id outside the cluster", "PEERS", "CLUSTER_SIZE", "2", "PEERS", "0=a:1,2=b:2"),
        bad("PEERS too few nodes", "PEERS", "CLUSTER_SIZE", "3", "PEERS", "0=a:1,1=b:2"),
        bad("bad write consistency", "WRITE_CONSISTENCY", "WRITE_CONSISTENCY", "most"),
        bad("bad read consistency", "READ_CONSISTENCY", "READ_CONSISTENCY", "two"),
        bad("duration without unit", "PEER_TIMEOUT", "PEER_TIMEOUT", "5"),
        bad("duration with unknown unit", "PROBE_INTERVAL", "PROBE_INTERVAL", "5w"),
        bad("fractional duration", "HINT_WINDOW", "HINT_WINDOW", "1.5h"),
        bad("negative duration", "ANTI_ENTROPY_INTERVAL", "ANTI_ENTROPY_INTERVAL", "-5m"),
        bad("zero duration", "TOMBSTONE_GRACE", "TOMBSTONE_GRACE", "0d"),
        bad("zero stray grace", "STRAY_GRACE", "STRAY_GRACE", "0s"),
        bad("stray grace text", "STRAY_GRACE", "STRAY_GRACE", "later"),
        bad("duration text", "SHUTDOWN_TIMEOUT", "SHUTDOWN_TIMEOUT", "soon"),
        bad("hint window as long as the tombstone grace", "HINT_WINDOW", "HINT_WINDOW", "2d", "TOMBSTONE_GRACE", "2d"),
        bad("tombstone grace shorter than the default hint window", "TOMBSTONE_GRACE", "TOMBSTONE_GRACE", "1h"),
        bad("bad boolean", "HINTED_HANDOFF", "HINTED_HANDOFF", "maybe"),
        bad("bad synchronous mode", "SQLITE_SYNCHRONOUS", "SQLITE_SYNCHRONOUS", "fast"),
        bad("MAX_VALUE_BYTES zero", "MAX_VALUE_BYTES", "MAX_VALUE_BYTES", "0"),
        bad("WRITE_BATCH_MAX not a number", "WRITE_BATCH_MAX", "WRITE_BATCH_MAX", "lots"),
        bad("PROBE_FAILURES zero", "PROBE_FAILURES", "PROBE_FAILURES", "0"));
  }

  @Test
  void aNodeBeyondClusterSizeJoinsAndPeersMayNameNodesThatJoinLater() {
    NodeConfig joining = NodeConfig.fromEnvironment(env("NODE_ID", "3", "CLUSTER_SIZE", "3", "REPLICATION_FACTOR", "3",
        "PEERS", "0=a:1,1=b:2,2=c:3,3=d:4,4=e:5"));
    assertTrue(joining.join(), "an ordinal beyond CLUSTER_SIZE joins the running cluster");
    assertEquals(new Peer(3, "d", 4), joining.self());
    assertEquals(new Peer(4, "e", 5), joining.peer(4).orElseThrow());
    NodeConfig member = NodeConfig.fromEnvironment(env("NODE_ID", "1", "CLUSTER_SIZE", "3", "PEERS", "0=a:1,1=b:2,2=c:3,3=d:4"));
    assertFalse(member.join());
    assertTrue(NodeConfig.fromEnvironment(env("NODE_ID", "1", "CLUSTER_SIZE", "3", "JOIN", "true", "PEERS", "0=a:1,1=b:2,2=c:3"))
        .join(), "JOIN=true joins whatever the ordinal");
    NodeConfig pod = NodeConfig.fromEnvironment(env("NODE_ID", "distributed-sqlite-7", "CLUSTER_SIZE", "3"));
    assertEquals("distributed-sqlite-9.distributed-sqlite-headless.default.svc.cluster.local:8080",
        pod.peer(9).orElseThrow().address(), "the DNS pattern gives every ordinal's address");
  }

  private static Arguments bad(String name, String variable, String... kv) {
    return Arguments.of(Named.of(name, env(kv)), variable);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badSettings")
  void badValueStopsTheNodeWithAOneLineReasonNamingTheVariable(Map<String, String> env, String variable) {
    ConfigException e = assertThrows(ConfigException.class, () -> NodeConfig.fromEnvironment(env));
    String msg = e.getMessage();
    assertTrue(msg != null && !msg.isBlank(), "a reason is given");
    assertFalse(msg.contains("\n") || msg.contains("\r"), () -> "one line: " + msg);
    assertTrue(msg.contains(variable), () -> "'" + msg + "' names " + variable);
  }
}
