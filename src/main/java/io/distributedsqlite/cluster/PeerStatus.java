package io.distributedsqlite.cluster;

/** Published by the membership verticle when a peer goes up or down. */
public record PeerStatus(int peer, boolean up) {
  public static final String ADDRESS = "cluster.peer-status";
}
