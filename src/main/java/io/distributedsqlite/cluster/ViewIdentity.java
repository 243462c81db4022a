package io.distributedsqlite.cluster;

import io.vertx.core.json.JsonObject;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a node says of its membership view on every probe and internal request: epoch, RF, member
 * count and the view's fingerprint (members' names and states). Two nodes coordinate only when
 * {@link #compare} finds the same view; otherwise {@link #disagreement} says exactly what differs.
 */
public record ViewIdentity(long epoch, int rf, int members, String fingerprint) {
  /** The request header that carries the sender's identity ({@link #header()}). */
  public static final String HEADER = "X-Cluster-View";

  private static final Pattern HEADER_FORM = Pattern.compile("epoch=(\\d{1,18});rf=(\\d{1,4});members=(\\d{1,4});fingerprint=([0-9a-f]{1,64})");

  /** How a peer's view relates to this node's. */
  public enum Agreement {
    /** Same epoch, RF and members: coordinate. */
    SAME,
    /** A different RF, or different members at the same epoch: never coordinate. */
    DIFFERS,
    /** The peer's epoch is older: it has not caught up with this node's view. */
    PEER_OLDER,
    /** The peer's epoch is newer: this node is behind. */
    PEER_NEWER
  }

  /** How {@code peer}'s view relates to this one (this node's). */
  public Agreement compare(ViewIdentity peer) {
    if (peer.rf != rf || (peer.epoch == epoch && (peer.members != members || !peer.fingerprint.equals(fingerprint)))) {
      return Agreement.DIFFERS;
    }
    if (peer.epoch < epoch) {
      return Agreement.PEER_OLDER;
    }
    return peer.epoch > epoch ? Agreement.PEER_NEWER : Agreement.SAME;
  }

  /** Why this node does not coordinate with {@code peer}, or null when their views are the same. */
  public String disagreement(ViewIdentity peer) {
    return disagreement(peer, "peer");
  }

  /** As {@link #disagreement(ViewIdentity)}, calling the other node {@code who} ("peer", "sender"). */
  public String disagreement(ViewIdentity other, String who) {
    return switch (compare(other)) {
      case SAME -> null;
      case DIFFERS -> {
        boolean sameShape = other.rf == rf && other.members == members;
        yield "membership differs: " + who + " has RF=" + other.rf + " and " + other.members + " members at epoch " + other.epoch
            + (sameShape ? " (fingerprint " + other.fingerprint + ")" : "") + "; this node RF=" + rf + " and " + members
            + " members at epoch " + epoch + (sameShape ? " (fingerprint " + fingerprint + ")" : "");
      }
      case PEER_OLDER -> "membership view older: " + who + " is at epoch " + other.epoch + ", this node at epoch " + epoch;
      case PEER_NEWER -> "membership view newer: " + who + " is at epoch " + other.epoch + ", this node at epoch " + epoch
          + " is behind and does not coordinate with it until it has that view";
    };
  }

  /** The header value: {@code epoch=1;rf=3;members=3;fingerprint=<hex>}. */
  public String header() {
    return "epoch=" + epoch + ";rf=" + rf + ";members=" + members + ";fingerprint=" + fingerprint;
  }

  /** Reads {@link #header()}; throws IllegalArgumentException naming the expected form. */
  public static ViewIdentity parseHeader(String value) {
    Matcher m = HEADER_FORM.matcher(value == null ? "" : value.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(HEADER + " is not epoch=<n>;rf=<n>;members=<n>;fingerprint=<hex>");
    }
    return new ViewIdentity(Long.parseLong(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), m.group(4));
  }

  /** The form the ping answer carries. */
  public JsonObject toJson() {
    return new JsonObject().put("epoch", epoch).put("rf", rf).put("members", members).put("fingerprint", fingerprint);
  }

  /** Reads {@link #toJson()}; null when absent or malformed (a node from before views). */
  public static ViewIdentity fromJson(JsonObject o) {
    if (o == null) {
      return null;
    }
    try {
      Long epoch = o.getLong("epoch");
      Integer rf = o.getInteger("rf");
      Integer members = o.getInteger("members");
      String fp = o.getString("fingerprint");
      return epoch == null || rf == null || members == null || fp == null ? null : new ViewIdentity(epoch, rf, members, fp);
    } catch (ClassCastException e) {
      return null;
    }
  }
}
