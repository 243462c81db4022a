package io.distributedsqlite.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every setting of a node, read once from the environment at start-up and validated; immutable
 * afterwards. {@link #fromEnvironment(Map)} throws {@link ConfigException} with a one-line reason
 * for the first bad value. The README's configuration table documents each default.
 *
 * <p>{@code nodeId} is the ordinal (ring placement, version tie-breaks, peer lists);
 * {@code nodeName} is NODE_ID exactly as configured (e.g. {@code distributed-sqlite-nodes-1}),
 * the JSON string every answer carries as {@code node_id}. {@code strayGrace}: how long a legacy
 * write's copy on a node that does not replicate its key is kept (see {@code StrayCleanup}).
 */
public record NodeConfig(
    int nodeId,
    String nodeName,
    String host,
    int port,
    int clusterSize,
    int replicationFactor,
    List<Peer> peers,
    boolean join,
    int streamRate,
    Optional<StatefulSetPeers> statefulSet,
    Path dataDir,
    int maxValueBytes,
    Consistency writeConsistency,
    Consistency readConsistency,
    String sqliteSynchronous,
    long sqliteMaxDbBytes,
    int sqliteCacheKib,
    int writeBatchMax,
    int writeQueueMax,
    int readPoolSize,
    long readCacheBytes,
    int httpInstances,
    Duration peerTimeout,
    Duration probeInterval,
    int probeFailures,
    Duration hintWindow,
    int hintMaxPerPeer,
    boolean hintedHandoff,
    Duration antiEntropyInterval,
    int repairRate,
    Duration tombstoneGrace,
    Duration strayGrace,
    Optional<String> clusterToken,
    ApiTokens apiTokens,
    Optional<Tls> tls,
    Duration requestTimeout,
    Duration idleTimeout,
    Duration shutdownTimeout,
    int batchMax,
    int batchMaxBytes,
    Path backupDir,
    Optional<Path> restoreFrom,

    Duration maxClockOffset,
    Duration testOnlyClockOffset,
    Duration startupTimeout) {

  public static final int MAX_KEY_BYTES = 1024;
  /** TEST_ONLY_CLOCK_OFFSET may shift the wall clock by at most this much either way. */
  static final Duration MAX_TEST_CLOCK_OFFSET = Duration.ofDays(365);

  /**
   * This node's wall clock in epoch milliseconds: every wall-clock read of the node goes through
   * here, so the test-only offset (TEST_ONLY_CLOCK_OFFSET, zero in production) skews all of them.
   */
  public long wallMillis() {
    return System.currentTimeMillis() + testOnlyClockOffset.toMillis();
  }

  /**
   * The future cap: a record stamped further ahead of this node's wall clock than this is refused.
   * Twice MAX_CLOCK_OFFSET: two clocks each within MAX_CLOCK_OFFSET of the cluster may be that far
   * apart, and a hybrid clock never runs ahead of the fastest wall clock it has heard from.
   */
  public long futureCapMillis() {
    return 2 * maxClockOffset.toMillis();
  }
  private static final Pattern ORDINAL = Pattern.compile("(?:.+-)?(\\d{1,6})");
  private static final Pattern PEER = Pattern.compile("(\\d{1,6})=([^:=,\\s]+):(\\d{1,5})");

  /** The peer entry of this node. */
  public Peer self() {
    return peer(nodeId).orElseThrow();
  }

  /**
   * Where node {@code ordinal} listens as the configuration says: its PEERS entry, or under the
   * StatefulSet DNS pattern (any ordinal); empty when PEERS does not name it. The membership view
   * carries the addresses of the members that joined later.
   */
  public Optional<Peer> peer(int ordinal) {
    for (Peer p : peers) {
      if (p.id() == ordinal) {
        return Optional.of(p);
      }
    }
    return statefulSet.map(s -> s.peer(ordinal, port));
  }

  /** The largest node ordinal a cluster may have (CLUSTER_SIZE and NODE_ID allow 1024 nodes). */
  public static final int MAX_ORDINAL = 1023;

  public static NodeConfig fromEnvironment(Map<String, String> env) {
    return fromEnvironment(env, Optional.empty(), MemoryBudget.ofThisProcess());
  }

  /**
   * As {@link #fromEnvironment(Map)}, for a node that knows its own fully qualified DNS name (a
   * StatefulSet pod's, from its /etc/hosts): peers are then found under the same headless service,
   * namespace and domain unless the environment names them (see {@link StatefulSetPeers}). The
   * memory-hungry settings default to the shares of {@code budget}.
   */
  public static NodeConfig fromEnvironment(Map<String, String> env, Optional<String> ownDnsName, MemoryBudget budget) {
    Reader r = new Reader(env, ownDnsName);
    String nodeName = r.string("NODE_ID", "0");
    int nodeId = r.nodeId();
    int port = r.intIn("PORT", 8080, 1, 65535);
    int clusterSize = r.intIn("CLUSTER_SIZE", 1, 1, 1024);
    int rf = r.intIn("REPLICATION_FACTOR", 1, 1, 1024);
    if (rf > clusterSize) {
      throw new ConfigException("REPLICATION_FACTOR=" + rf + " exceeds CLUSTER_SIZE=" + clusterSize);
    }
    if (nodeId > MAX_ORDINAL) {
      throw new ConfigException("NODE_ID ordinal " + nodeId + " is outside 0.." + MAX_ORDINAL);
    }
    // CLUSTER_SIZE forms the first membership view; a node beyond it joins the running cluster.
    boolean join = r.bool("JOIN", false) || nodeId >= clusterSize;
    String host = r.string("HOST", "0.0.0.0");
    // Read by logback.xml before this runs; checked here so a typo stops the node with a reason
    // instead of silently logging nothing.
    r.oneOf("LOG_LEVEL", "INFO", Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"));
    if (!Set.of("text", "json").contains(r.string("LOG_FORMAT", "text"))) {
      throw new ConfigException("LOG_FORMAT=" + env.get("LOG_FORMAT") + " is not one of [text, json]");
    }
    Optional<StatefulSetPeers> statefulSet = r.string("PEERS", "").isEmpty() && (clusterSize > 1 || join)
        ? Optional.of(StatefulSetPeers.resolve(env, ownDnsName)) : Optional.empty();
    List<Peer> peers = r.peers(clusterSize, port, nodeId, statefulSet);
    if (join && peers.stream().noneMatch(p -> p.id() != nodeId && p.id() < clusterSize)) {
      throw new ConfigException("JOIN: node " + nodeId + " has no member of the cluster to join through; CLUSTER_SIZE and "
          + "PEERS (or the StatefulSet DNS pattern) must name the nodes of the running cluster");
    }
    Duration hintWindow = r.duration("HINT_WINDOW", "3h");
    Duration tombstoneGrace = r.duration("TOMBSTONE_GRACE", "10d");
    if (hintWindow.compareTo(tombstoneGrace) >= 0) {
      // A hint older than the grace can carry a value whose delete was already purged elsewhere.
      throw new ConfigException("HINT_WINDOW=" + r.string("HINT_WINDOW", "3h") + " must be shorter than TOMBSTONE_GRACE="
          + r.string("TOMBSTONE_GRACE", "10d") + " (a hint older than the grace could bring a purged delete back)");
    }
    return new NodeConfig(
        nodeId,
        nodeName,
        host,
        port,
        clusterSize,
        rf,
        peers,
        join,
        r.intIn("STREAM_RATE", 20_000, 1, 10_000_000),
        statefulSet,
        Path.of(r.string("DATA_DIR", "./data")),
        r.intIn("MAX_VALUE_BYTES", 1 << 20, 1, 64 << 20),
        r.consistency("WRITE_CONSISTENCY", Consistency.ONE),
        r.consistency("READ_CONSISTENCY", Consistency.QUORUM),
        r.oneOf("SQLITE_SYNCHRONOUS", "FULL", Set.of("FULL", "NORMAL", "EXTRA")),
        r.longIn("SQLITE_MAX_DB_BYTES", 0, 0, Long.MAX_VALUE),
        r.intIn("SQLITE_CACHE_KIB", budget.sqliteCacheKib(), 0, 1 << 30),
        r.intIn("WRITE_BATCH_MAX", 1000, 1, 100_000),
        r.intIn("WRITE_QUEUE_MAX", budget.writeQueueMax(), 1, 10_000_000),
        r.intIn("READ_POOL_SIZE", budget.readPoolSize(), 1, 256),
        r.longIn("READ_CACHE_BYTES", budget.readCacheBytes(), 0, 1L << 40),
        r.intIn("HTTP_INSTANCES", budget.httpInstances(), 1, 256),
        r.duration("PEER_TIMEOUT", "2s"),
        r.duration("PROBE_INTERVAL", "500ms"),
        r.intIn("PROBE_FAILURES", 3, 1, 100),
        hintWindow,
        r.intIn("HINT_MAX_PER_PEER", 1_000_000, 0, Integer.MAX_VALUE),
        r.bool("HINTED_HANDOFF", true),
        r.duration("ANTI_ENTROPY_INTERVAL", "5m"),
        r.intIn("REPAIR_RATE", 20_000, 1, 10_000_000),
        tombstoneGrace,
        r.duration("STRAY_GRACE", "1h"),
        r.optional("CLUSTER_TOKEN"),
        ApiTokens.parse(env.get("API_TOKENS"), env.get("API_TOKENS_FILE")),
        Tls.fromEnvironment(r.optional("TLS_CERT_FILE"), r.optional("TLS_KEY_FILE"), r.optional("TLS_CA_FILE"),
            r.bool("PEER_MTLS", false)),
        r.duration("REQUEST_TIMEOUT", "10s"),
        r.duration("IDLE_TIMEOUT", "60s"),
        r.duration("SHUTDOWN_TIMEOUT", "20s"),
        r.intIn("BATCH_MAX", 1000, 1, 100_000),
        r.intIn("BATCH_MAX_BYTES", 8 << 20, 1024, 1 << 30),
        Path.of(r.string("BACKUP_DIR", Path.of(r.string("DATA_DIR", "./data")).resolve("backups").toString())),
        r.optional("RESTORE_FROM").map(Path::of),

        r.duration("MAX_CLOCK_OFFSET", "500ms"),
        r.signedDuration("TEST_ONLY_CLOCK_OFFSET", MAX_TEST_CLOCK_OFFSET),
        r.duration("STARTUP_TIMEOUT", "5m"));
  }

  /** Reads and validates single variables; each failure names the variable and the value. */
  private record Reader(Map<String, String> env, Optional<String> ownDnsName) {
    String string(String name, String def) {
      String v = env.get(name);
      return v == null || v.isBlank() ? def : v.trim();
    }

    Optional<String> optional(String name) {
      String v = env.get(name);
      return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v);
    }

    int intIn(String name, int def, int min, int max) {
      return (int) longIn(name, def, min, max);
    }

    long longIn(String name, long def, long min, long max) {
      String v = env.get(name);
      if (v == null || v.isBlank()) {
        return def;
      }
      try {
        long n = Long.parseLong(v.trim());
        if (n < min || n > max) {
          throw new ConfigException(name + "=" + v + " is outside " + min + ".." + max);
        }
        return n;
      } catch (NumberFormatException e) {
        throw new ConfigException(name + "=" + v + " is not an integer");
      }
    }

    boolean bool(String name, boolean def) {
      String v = string(name, Boolean.toString(def));
      return switch (v.toLowerCase()) {
        case "true", "1", "yes", "on" -> true;
        case "false", "0", "no", "off" -> false;
        default -> throw new ConfigException(name + "=" + v + " is not a boolean (true or false)");
      };
    }

    String oneOf(String name, String def, Set<String> allowed) {
      String v = string(name, def).toUpperCase();
      if (!allowed.contains(v)) {
        throw new ConfigException(name + "=" + v + " is not one of " + allowed);
      }
      return v;
    }

    Consistency consistency(String name, Consistency def) {
      String v = env.get(name);
      if (v == null || v.isBlank()) {
        return def;
      }
      try {
        return Consistency.parse(v.trim());
      } catch (IllegalArgumentException e) {
        throw new ConfigException(name + ": " + e.getMessage());
      }
    }

    Duration duration(String name, String def) {
      String v = string(name, def);
      try {
        Duration d = Durations.parse(v);
        if (d.isZero()) {
          throw new ConfigException(name + "=" + v + " must be greater than zero");
        }
        return d;
      } catch (IllegalArgumentException e) {
        throw new ConfigException(name + ": " + e.getMessage());
      }
    }

    /** A duration with an optional sign ({@code -1500ms}, {@code +2h}); zero when unset. */
    Duration signedDuration(String name, Duration maxMagnitude) {
      String v = string(name, "0ms");
      boolean negative = v.startsWith("-");
      String magnitude = v.startsWith("-") || v.startsWith("+") ? v.substring(1) : v;
      try {
        Duration d = Durations.parse(magnitude);
        if (d.compareTo(maxMagnitude) > 0) {
          throw new ConfigException(name + "=" + v + " is beyond " + maxMagnitude.toDays() + " days either way");
        }
        return negative ? d.negated() : d;
      } catch (IllegalArgumentException e) {
        throw new ConfigException(name + ": " + e.getMessage());
      }
    }

    /** NODE_ID is a plain ordinal ("2") or a StatefulSet pod name ("distributed-sqlite-2"). */
    int nodeId() {
      String v = string("NODE_ID", "0");
      Matcher m = ORDINAL.matcher(v);
      if (!m.matches()) {
        throw new ConfigException("NODE_ID=" + v + " is neither an ordinal nor a name ending in -<ordinal>");
      }
      return Integer.parseInt(m.group(1));
    }

    /**
     * PEERS ({@code 0=host:port,1=host:port,...}) when given, else the StatefulSet DNS pattern
     * {@code <set>-<i>.<headless>.<namespace>.svc.<domain>:<port>} ({@link StatefulSetPeers}); a
     * single node needs neither. PEERS lists at least nodes 0..CLUSTER_SIZE-1 and this node; it may
     * name nodes beyond CLUSTER_SIZE (nodes that join later).
     */
    List<Peer> peers(int clusterSize, int port, int self, Optional<StatefulSetPeers> statefulSet) {
      String explicit = string("PEERS", "");
      List<Peer> peers = new ArrayList<>();
      if (!explicit.isEmpty()) {
        Set<Integer> ids = new HashSet<>();
        for (String part : explicit.split(",")) {
          Matcher m = PEER.matcher(part.trim());
          if (!m.matches()) {
            throw new ConfigException("PEERS entry '" + part.trim() + "' is not id=host:port");
          }
          int id = Integer.parseInt(m.group(1));
          int peerPort = Integer.parseInt(m.group(3));
          if (!ids.add(id)) {
            throw new ConfigException("PEERS names node " + id + " twice");
          }
          if (id > MAX_ORDINAL) {
            throw new ConfigException("PEERS names node " + id + ", beyond the largest ordinal " + MAX_ORDINAL);
          }
          if (peerPort < 1 || peerPort > 65535) {
            throw new ConfigException("PEERS entry '" + part.trim() + "' has a port outside 1..65535");
          }
          peers.add(new Peer(id, m.group(2), peerPort));
        }
        for (int i = 0; i < clusterSize; i++) {
          if (!ids.contains(i)) {
            throw new ConfigException("PEERS lists " + peers.size() + " nodes but not node " + i + " (CLUSTER_SIZE=" + clusterSize + ")");
          }
        }
        if (!ids.contains(self)) {
          throw new ConfigException("PEERS does not name this node (" + self + ")");
        }
        peers.sort((a, b) -> Integer.compare(a.id(), b.id()));
        return List.copyOf(peers);
      }
      if (statefulSet.isEmpty()) {
        return List.of(new Peer(0, "127.0.0.1", port));
      }
      return statefulSet.get().peers(Math.max(clusterSize, self + 1), port);
    }
  }
}
