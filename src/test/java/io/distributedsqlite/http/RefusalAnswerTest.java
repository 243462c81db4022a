package io.distributedsqlite.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.distributedsqlite.storage.WriteRefused;
import io.distributedsqlite.storage.WriteRefused.Reason;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** The one mapping from a refused write to its HTTP status and JSON error, for every reason. */
class RefusalAnswerTest {

  private static RefusalAnswer answer(Reason reason, String message) {
    return RefusalAnswer.of(new WriteRefused(reason, message));
  }

  @Test
  void aFullWriteQueueIs503OverloadedWithRetryAfter() {
    assertEquals(new RefusalAnswer(503, "overloaded", "the write queue is full; retry shortly", 1),
        answer(Reason.OVERLOADED, "write queue is full (10000 writes)"));
  }

  @Test
  void aFullDiskIs507InsufficientStorage() {
    assertEquals(new RefusalAnswer(507, "insufficient_storage", "the disk is full; the write was not stored", 0),
        answer(Reason.DISK_FULL, "[SQLITE_FULL] database or disk is full"));
  }

  @Test
  void anyOtherStorageErrorIs500InternalWithoutSqlitesText() {
    assertEquals(new RefusalAnswer(500, "internal", "the node failed to handle the request", 0),
        answer(Reason.STORAGE_ERROR, "[SQLITE_CONSTRAINT_FOREIGNKEY] FOREIGN KEY constraint failed"));
  }

  @Test
  void anUnfitClockIs503ClockOffsetWithItsReason() {
    String why = "this node has not yet measured its clock offset against a majority of the cluster";
    assertEquals(new RefusalAnswer(503, "clock_offset", why, 0), answer(Reason.CLOCK_OFFSET, why));
  }

  @Test
  void aBatchOpCarriesTheSameErrorAndMessageAsJson() {
    StringBuilder sb = new StringBuilder("{\"status\":\"failed\",");
    answer(Reason.CLOCK_OFFSET, "off by \"2 h\"").appendFields(sb);
    JsonObject op = new JsonObject(sb.append('}').toString());
    assertEquals("clock_offset", op.getString("error"));
    assertEquals("off by \"2 h\"", op.getString("message"));
  }
}
