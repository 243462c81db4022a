package io.distributedsqlite.cluster;

/** A peer answered a request with a status other than 200; {@link #status()} says which. */
public final class PeerRefused extends RuntimeException {
  private final int status;

  public PeerRefused(int peer, int status, String uri) {
    super("peer " + peer + " answered " + status + " to " + uri, null, false, false);
    this.status = status;
  }

  public int status() {
    return status;
  }

  /** Whether the peer refused what was sent as such (too large, or invalid there), so sending it again cannot succeed. */
  public boolean refusesContent() {
    return status == 400 || status == 413;
  }
}
