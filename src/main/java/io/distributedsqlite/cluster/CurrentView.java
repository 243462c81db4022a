package io.distributedsqlite.cluster;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The membership view this node runs with, and its identity as sent to peers. Set at start-up;
 * read by every event loop (probes, peer requests, the internal routes' view check, /cluster).
 * Thread-safe: one atomic reference to an immutable view.
 */
public final class CurrentView {
  private record Held(MembershipView view, ViewIdentity identity) {}

  private final AtomicReference<Held> held = new AtomicReference<>();

  public CurrentView(MembershipView view) {
    set(view);
  }

  public MembershipView view() {
    return held.get().view();
  }

  public ViewIdentity identity() {
    return held.get().identity();
  }

  public void set(MembershipView view) {
    held.set(new Held(view, view.identity()));
  }
}
