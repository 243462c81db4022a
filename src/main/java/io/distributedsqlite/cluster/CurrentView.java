package io.distributedsqlite.cluster;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.Peer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The membership view this node runs with, its identity as sent to peers, and the placement of
 * keys under it. Set at start-up, replaced when the membership changes (a newer epoch); read by
 * every event loop (coordinators, probes, the internal routes' view check, /cluster), each
 * request taking the view of the moment once. Thread-safe: one atomic reference to an immutable
 * triple.
 */
public final class CurrentView {
  private record Held(MembershipView view, ViewIdentity identity, Placement placement, long setAtNanos) {}

  private final AtomicReference<Held> held = new AtomicReference<>();
  private final NodeConfig config;
  private final List<Consumer<MembershipView>> listeners = new CopyOnWriteArrayList<>();

  public CurrentView(MembershipView view, NodeConfig config) {
    this.config = config;
    set(view);
  }

  public MembershipView view() {
    return held.get().view();
  }

  public ViewIdentity identity() {
    return held.get().identity();
  }

  public Placement placement() {
    return held.get().placement();
  }

  /** Requests in progress on this node, by the epoch of the view they were made under (an entry per epoch seen). */
  private final java.util.concurrent.ConcurrentHashMap<Long, java.util.concurrent.atomic.LongAdder> inFlight =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Counts a request made under view {@code epoch} (a peer's request this node takes, or a write
   * this node coordinates) until the returned action runs; run it exactly once, when the request
   * is done with this node's file.
   */
  public Runnable enter(long epoch) {
    java.util.concurrent.atomic.LongAdder n = inFlight.get(epoch);
    if (n == null) {
      n = inFlight.computeIfAbsent(epoch, e -> new java.util.concurrent.atomic.LongAdder());
    }
    n.increment();
    return n::decrement;
  }

  /** Whether a request made under a view older than this node's is still in progress. */
  public boolean olderInFlight() {
    long epoch = view().epoch();
    for (java.util.Map.Entry<Long, java.util.concurrent.atomic.LongAdder> e : inFlight.entrySet()) {
      if (e.getKey() < epoch && e.getValue().sum() > 0) {
        return true;
      }
    }
    return false;
  }

  /** When the view of the moment was set ({@link System#nanoTime()}). */
  public long setAtNanos() {
    return held.get().setAtNanos();
  }

  /** Replaces the view; listeners run on the caller's thread, after the swap. */
  public void set(MembershipView view) {
    held.set(new Held(view, view.identity(), new Placement(view), System.nanoTime()));
    for (Consumer<MembershipView> l : listeners) {
      l.accept(view);
    }
  }

  /** Called with every view set from now on (on the thread that sets it). */
  public void onChange(Consumer<MembershipView> listener) {
    listeners.add(listener);
  }

  /** Where node {@code ordinal} listens: its address in the view, else the configured one. */
  public Peer address(int ordinal) {
    MembershipView.Member m = view().member(ordinal);
    if (m != null && m.address() != null && m.address().lastIndexOf(':') > 0) {
      try {
        return m.peer();
      } catch (NumberFormatException e) {
        // fall through to the configuration
      }
    }
    return config.peer(ordinal).orElseThrow(() -> new IllegalStateException("no address known for node " + ordinal));
  }
}
