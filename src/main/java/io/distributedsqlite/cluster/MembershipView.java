package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.Peer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who is in the cluster, as this node knows it: an epoch, the replication factor and the members
 * in ordinal order, each with its NODE_ID name, address and {@link State}. CLUSTER_SIZE and PEERS
 * (or the StatefulSet DNS pattern) form the first view ({@link #initial}): epoch 1, every member
 * {@code normal}. Every node stores its view in its database and compares its {@link #identity()}
 * with its peers' through the probes (README, "Membership"). Immutable.
 */
public record MembershipView(long epoch, int replicationFactor, List<Member> members) {

  /** A member's part in the ring. Only {@code normal} exists until nodes can join and leave. */
  public enum State {
    JOINING, NORMAL, LEAVING, LEFT;

    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    static State parse(String s) {
      for (State st : values()) {
        if (st.wireName().equals(s)) {
          return st;
        }
      }
      throw new IllegalArgumentException("unknown member state '" + s + "'");
    }
  }

  public record Member(int ordinal, String name, String address, State state) {}

  private static final Pattern POD_NAME = Pattern.compile("(.+-)\\d{1,6}");

  public MembershipView {
    members = List.copyOf(members);
  }

  /**
   * The view the configuration describes. Member {@code i} is named like this node's NODE_ID with
   * its ordinal replaced ({@code distributed-sqlite-nodes-1} makes {@code distributed-sqlite-nodes-i};
   * a bare ordinal makes {@code i}), as a StatefulSet names its pods.
   */
  public static MembershipView initial(NodeConfig config) {
    Matcher m = POD_NAME.matcher(config.nodeName());
    String prefix = m.matches() ? m.group(1) : "";
    List<Member> members = new ArrayList<>(config.clusterSize());
    for (Peer p : config.peers()) {
      members.add(new Member(p.id(), prefix + p.id(), p.address(), State.NORMAL));
    }
    return new MembershipView(1, config.replicationFactor(), members);
  }

  /** Epoch, RF, member count and fingerprint: what the probes and internal requests carry. */
  public ViewIdentity identity() {
    return new ViewIdentity(epoch, replicationFactor, members.size(), fingerprint());
  }

  /**
   * 16 hex digits of SHA-256 over RF and every member's ordinal and state, in ordinal order. Names
   * and addresses are left out: a member is its ordinal (the ring places keys by ordinal), and each
   * node derives the names from its own NODE_ID's pattern, which nodes of one cluster need not share
   * (an operator moving from bare ordinals to pod names, one node at a time, changes no placement).
   */
  public String fingerprint() {
    StringBuilder canonical = new StringBuilder("rf=").append(replicationFactor).append('\n');
    for (Member m : members) {
      canonical.append(m.ordinal()).append(' ').append(m.state().wireName()).append('\n');
    }
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /**
   * Why this (stored) view contradicts {@code configured}: a different RF or other members (by
   * ordinal); null when they agree. Names and addresses may differ: they follow the configuration.
   */
  public String contradiction(MembershipView configured) {
    if (replicationFactor == configured.replicationFactor && ordinals().equals(configured.ordinals())) {
      return null;
    }
    return "the membership view stored in node.db (RF=" + replicationFactor + ", " + members.size() + " members "
        + ordinals() + ", epoch " + epoch + ") contradicts the configuration (REPLICATION_FACTOR=" + configured.replicationFactor
        + ", CLUSTER_SIZE=" + configured.members.size() + ", members " + configured.ordinals() + ")";
  }

  /** This view with the members' names and addresses taken from {@code configured} (same members). */
  public MembershipView withNamesAndAddressesOf(MembershipView configured) {
    List<Member> updated = new ArrayList<>(members.size());
    for (int i = 0; i < members.size(); i++) {
      Member m = members.get(i);
      Member c = configured.members.get(i);
      updated.add(new Member(m.ordinal(), c.name(), c.address(), m.state()));
    }
    return new MembershipView(epoch, replicationFactor, updated);
  }

  List<Integer> ordinals() {
    List<Integer> ordinals = new ArrayList<>(members.size());
    members.forEach(m -> ordinals.add(m.ordinal()));
    return ordinals;
  }

  List<String> names() {
    List<String> names = new ArrayList<>(members.size());
    members.forEach(m -> names.add(m.name()));
    return names;
  }

  /** The JSON stored in the meta table and shown in {@code /cluster} (with the fingerprint). */
  public JsonObject toJson() {
    JsonArray list = new JsonArray();
    for (Member m : members) {
      list.add(new JsonObject().put("id", m.ordinal()).put("name", m.name()).put("address", m.address())
          .put("state", m.state().wireName()));
    }
    return new JsonObject().put("epoch", epoch).put("rf", replicationFactor).put("fingerprint", fingerprint())
        .put("members", list);
  }

  /** Reads {@link #toJson()}; throws IllegalArgumentException on anything else. */
  public static MembershipView fromJson(String json) {
    try {
      JsonObject o = new JsonObject(json);
      List<Member> members = new ArrayList<>();
      for (Object e : o.getJsonArray("members")) {
        JsonObject m = (JsonObject) e;
        members.add(new Member(m.getInteger("id"), m.getString("name"), m.getString("address"), State.parse(m.getString("state"))));
      }
      return new MembershipView(o.getLong("epoch"), o.getInteger("rf"), members);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("unreadable membership view: " + e.getMessage(), e);
    }
  }
}
