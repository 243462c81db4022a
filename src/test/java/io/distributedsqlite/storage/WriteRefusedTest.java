package io.distributedsqlite.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * A refusal crosses the event bus between the storage worker and its senders as a failure code
 * and comes back as the same reason and message; any other failure is not mistaken for one.
 */
@ExtendWith(VertxExtension.class)
class WriteRefusedTest {

  @Test
  void everyReasonComesBackFromTheEventBusAsItself(Vertx vertx, VertxTestContext ctx) {
    WriteRefused.Reason[] reasons = WriteRefused.Reason.values();
    vertx.eventBus().<Integer>consumer("refusals.test",
        m -> new WriteRefused(reasons[m.body()], "because " + reasons[m.body()]).failReply(m));
    var checkpoint = ctx.checkpoint(reasons.length);
    for (int i = 0; i < reasons.length; i++) {
      WriteRefused.Reason reason = reasons[i];
      vertx.eventBus().request("refusals.test", i).onComplete(ctx.failing(t -> ctx.verify(() -> {
        WriteRefused back = WriteRefused.from(t);
        assertEquals(reason, back.reason());
        assertEquals("because " + reason, back.getMessage());
        checkpoint.flag();
      })));
    }
  }

  @Test
  void aTimeoutOrAnyOtherFailureIsNoRefusal(Vertx vertx, VertxTestContext ctx) {
    vertx.eventBus().consumer("refusals.silent", m -> {});
    vertx.eventBus().request("refusals.silent", "x", new DeliveryOptions().setSendTimeout(50))
        .onComplete(ctx.failing(t -> ctx.verify(() -> {
          assertEquals(true, t instanceof ReplyException, t::toString);
          assertNull(WriteRefused.from(t), "a timeout is answered as a timeout, not as a refusal");
          assertNull(WriteRefused.from(new IllegalStateException("peer 2 is down")));
          WriteRefused direct = new WriteRefused(WriteRefused.Reason.OVERLOADED, "write queue is full");
          assertSame(direct, WriteRefused.from(direct), "a refusal raised on this side is itself");
          ctx.completeNow();
        })));
  }

  @Test
  void aFullDiskOrAnIoErrorIsDiskFullAndAnythingElseAStorageError() {
    assertEquals(WriteRefused.Reason.DISK_FULL,
        WriteRefused.of(new SQLiteException("database or disk is full", SQLiteErrorCode.SQLITE_FULL)).reason());
    assertEquals(WriteRefused.Reason.DISK_FULL,
        WriteRefused.of(new SQLiteException("disk I/O error", SQLiteErrorCode.SQLITE_IOERR_WRITE)).reason());
    assertEquals(WriteRefused.Reason.STORAGE_ERROR,
        WriteRefused.of(new SQLiteException("FOREIGN KEY constraint failed", SQLiteErrorCode.SQLITE_CONSTRAINT_FOREIGNKEY)).reason());
    assertEquals(WriteRefused.Reason.STORAGE_ERROR, WriteRefused.of(new SQLException("closed")).reason());
  }
}
