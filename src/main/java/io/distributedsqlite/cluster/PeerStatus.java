package io.distributedsqlite.cluster;

/**
 * Published by the membership verticle when a peer goes up or down; {@code reason}: why it is
 * down (its last failed probe), null when it is up or not known. {@link PeerView} takes these in.
 */
public record PeerStatus(int peer, boolean up, String reason) {
  public static final String ADDRESS = "cluster.peer-status";
}
