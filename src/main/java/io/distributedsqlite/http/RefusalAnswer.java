package io.distributedsqlite.http;

import io.distributedsqlite.storage.WriteRefused;
import io.distributedsqlite.wire.Json;
import io.vertx.ext.web.RoutingContext;

/**
 * The one mapping from a refused write to what the client gets: HTTP status, JSON error code and
 * message, and for backpressure a {@code Retry-After}. Every route answers a {@link WriteRefused}
 * through it: a single write as the whole response, a {@code /batch} op inside its result.
 */
record RefusalAnswer(int status, String code, String message, int retryAfterSeconds) {

  static RefusalAnswer of(WriteRefused refused) {
    return switch (refused.reason()) {
      case OVERLOADED -> new RefusalAnswer(503, "overloaded", "the write queue is full; retry shortly", 1);
      case DISK_FULL -> new RefusalAnswer(507, "insufficient_storage", "the disk is full; the write was not stored", 0);
      // The storage worker logged the cause; the client learns nothing more from SQLite's text.
      case STORAGE_ERROR -> new RefusalAnswer(500, "internal", "the node failed to handle the request", 0);
      // The message says what is wrong with the clock and since when; it is meant for the client.
      case CLOCK_OFFSET -> new RefusalAnswer(503, "clock_offset", refused.getMessage(), 0);
    };
  }

  /** Answers the whole request with this refusal. */
  void send(RoutingContext ctx) {
    if (retryAfterSeconds > 0) {
      ctx.response().putHeader("Retry-After", Integer.toString(retryAfterSeconds));
    }
    Responses.error(ctx, status, code, message);
  }

  /** Appends {@code "error":…,"message":…} to a JSON object under construction (a /batch op's result). */
  void appendFields(StringBuilder sb) {
    sb.append("\"error\":");
    Json.quote(sb, code);
    sb.append(",\"message\":");
    Json.quote(sb, message);
  }
}
