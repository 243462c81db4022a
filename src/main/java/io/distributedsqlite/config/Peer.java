package io.distributedsqlite.config;

/** One member of the cluster: its ring id and where its HTTP port listens. */
public record Peer(int id, String host, int port) {
  public String address() {
    return host + ":" + port;
  }
}
