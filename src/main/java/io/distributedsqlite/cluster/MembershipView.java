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

  /**
   * A member's part in the ring: {@code joining} takes writes and streams its future ranges,
   * {@code normal} owns its ranges, {@code leaving} still owns them while the nodes that take them
   * over stream them, {@code left} owns nothing (its copies are removed by cleanup).
   */
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

  public record Member(int ordinal, String name, String address, State state) {
    /** The address as host and port (the last ':' separates them). */
    public Peer peer() {
      int colon = address.lastIndexOf(':');
      return new Peer(ordinal, address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
    }
  }

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
      if (p.id() < config.clusterSize()) {
        members.add(new Member(p.id(), prefix + p.id(), p.address(), State.NORMAL));
      }
    }
    return new MembershipView(1, config.replicationFactor(), members);
  }

  /** The member with this ordinal, or null. */
  public Member member(int ordinal) {
    for (Member m : members) {
      if (m.ordinal() == ordinal) {
        return m;
      }
    }
    return null;
  }

  /** The state of member {@code ordinal}, or null when it is not a member. */
  public State stateOf(int ordinal) {
    Member m = member(ordinal);
    return m == null ? null : m.state();
  }

  /** The member that is joining or leaving, or null when no change is in progress. */
  public Member changing() {
    for (Member m : members) {
      if (m.state() == State.JOINING || m.state() == State.LEAVING) {
        return m;
      }
    }
    return null;
  }

  /** The members this node talks to: all but itself and those that left. */
  public List<Member> peersOf(int self) {
    List<Member> out = new ArrayList<>();
    for (Member m : members) {
      if (m.ordinal() != self && m.state() != State.LEFT) {
        out.add(m);
      }
    }
    return out;
  }

  /** Members that are not {@code left}: those a settled view counts. */
  public int activeMembers() {
    int n = 0;
    for (Member m : members) {
      n += m.state() == State.LEFT ? 0 : 1;
    }
    return n;
  }

  /** The coordinator of membership changes: the lowest-ordinal {@code normal} member. */
  public int coordinator() {
    for (Member m : members) {
      if (m.state() == State.NORMAL) {
        return m.ordinal();
      }
    }
    throw new IllegalStateException("no normal member in view " + epoch);
  }

  /** This view at the next epoch with member {@code m} added or replaced (members stay in ordinal order). */
  public MembershipView with(Member m) {
    List<Member> updated = new ArrayList<>(members);
    updated.removeIf(x -> x.ordinal() == m.ordinal());
    updated.add(m);
    updated.sort(java.util.Comparator.comparingInt(Member::ordinal));
    return new MembershipView(epoch + 1, replicationFactor, updated);
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
    // After a join or a decommission (epoch > 1) the stored members are the truth: CLUSTER_SIZE
    // only formed the first view. RF is never changed by a membership change.
    boolean sameMembers = epoch > 1 || ordinals().equals(configured.ordinals());
    if (replicationFactor == configured.replicationFactor && sameMembers) {
      return null;
    }
    return "the membership view stored in node.db (RF=" + replicationFactor + ", " + members.size() + " members "
        + ordinals() + ", epoch " + epoch + ") contradicts the configuration (REPLICATION_FACTOR=" + configured.replicationFactor
        + ", CLUSTER_SIZE=" + configured.members.size() + ", members " + configured.ordinals() + ")";
  }

  /** This view with the names and addresses of the members {@code configured} also has taken from it. */
  public MembershipView withNamesAndAddressesOf(MembershipView configured) {
    List<Member> updated = new ArrayList<>(members.size());
    for (Member m : members) {
      Member c = configured.member(m.ordinal());
      updated.add(c == null ? m : new Member(m.ordinal(), c.name(), c.address(), m.state()));
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
