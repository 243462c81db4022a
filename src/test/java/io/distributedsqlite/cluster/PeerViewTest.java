package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.LocalCodec;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** One event loop's view of the peers, fed by the membership's status events. */
@ExtendWith(VertxExtension.class)
class PeerViewTest {

  @Test
  void everyPeerIsUpUntilAStatusSaysOtherwiseAndADownPeerSaysWhy() {
    PeerView view = new PeerView(3);
    assertTrue(view.isUp(0) && view.isUp(1) && view.isUp(2));
    assertNull(view.downReason(1));
    view.apply(new PeerStatus(1, false, "connection refused"));
    assertFalse(view.isUp(1));
    assertEquals("connection refused", view.downReason(1));
    view.apply(new PeerStatus(1, true, null));
    assertTrue(view.isUp(1));
    assertNull(view.downReason(1), "an up peer has no down reason");
  }

  @Test
  void listenersHearEveryStatusAfterTheViewTookItIn() {
    PeerView view = new PeerView(3);
    List<String> heard = new ArrayList<>();
    view.onChange(s -> heard.add("first " + s.peer() + " " + view.isUp(s.peer())));
    view.onChange(s -> heard.add("second " + s.peer() + " " + view.isUp(s.peer())));
    view.apply(new PeerStatus(2, false, "timeout"));
    view.apply(new PeerStatus(2, true, null));
    assertEquals(List.of("first 2 false", "second 2 false", "first 2 true", "second 2 true"), heard);
  }

  @Test
  void aFollowingViewTakesInThePublishedStatusesOnItsOwnEventLoop(Vertx vertx, VertxTestContext ctx) {
    LocalCodec.register(vertx, PeerStatus.class);
    vertx.runOnContext(v -> {
      PeerView view = PeerView.follow(vertx);
      Thread loop = Thread.currentThread();
      view.onChange(s -> ctx.verify(() -> {
        assertEquals(loop, Thread.currentThread(), "statuses arrive on the view's event loop");
        assertFalse(view.isUp(1));
        assertEquals("stale replica", view.downReason(1));
        ctx.completeNow();
      }));
      vertx.eventBus().publish(PeerStatus.ADDRESS, new PeerStatus(1, false, "stale replica"));
    });
  }
}
