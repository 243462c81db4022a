package io.distributedsqlite.cluster;

import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * The peers' state as one event loop knows it: which peers are up, and why a peer is down when
 * that is known. The {@link MembershipVerticle} probes the peers and publishes each change as a
 * {@link PeerStatus}; every event loop that acts on peers keeps one view fed by those events
 * ({@link #follow}): one per HTTP verticle instance, shared by its write, read and scan
 * coordinators, and one in the anti-entropy verticle. The membership verticle keeps the view it
 * publishes from. Read peers' state here and nowhere else.
 *
 * <p>Every peer counts as up until a status says otherwise, so a node that just started asks
 * everyone. This node is always up. Not thread-safe: use it from its event loop (a metrics gauge
 * may read it from another thread; a value a moment old is fine there).
 */
public final class PeerView {
  private final boolean[] up;
  private final String[] downReason;
  private final List<Consumer<PeerStatus>> listeners = new ArrayList<>();

  /** A view of {@code clusterSize} nodes, all up. */
  public PeerView(int clusterSize) {
    this.up = new boolean[clusterSize];
    this.downReason = new String[clusterSize];
    Arrays.fill(up, true);
  }

  /** A view of every ordinal a cluster may have, all up. */
  public PeerView() {
    this(io.distributedsqlite.config.NodeConfig.MAX_ORDINAL + 1);
  }

  /**
   * A view fed by the membership's {@link PeerStatus} events, on the event loop of the caller's
   * context (call it from the verticle that owns the view; undeploying it ends the feed).
   */
  public static PeerView follow(Vertx vertx) {
    PeerView view = new PeerView();
    vertx.eventBus().<PeerStatus>consumer(PeerStatus.ADDRESS, m -> view.apply(m.body()));
    return view;
  }

  public boolean isUp(int peer) {
    return up[peer];
  }

  /** Why the peer is down (its last failed probe), or null while it is up or when not known. */
  public String downReason(int peer) {
    return up[peer] ? null : downReason[peer];
  }

  /** Called with every status this view takes in, after the view changed, in the order registered. */
  public void onChange(Consumer<PeerStatus> listener) {
    listeners.add(listener);
  }

  /** Takes in a peer's status and tells the listeners. */
  public void apply(PeerStatus status) {
    up[status.peer()] = status.up();
    downReason[status.peer()] = status.up() ? null : status.reason();
    for (Consumer<PeerStatus> listener : listeners) {
      listener.accept(status);
    }
  }
}
