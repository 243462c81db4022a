package io.distributedsqlite.http;

import io.distributedsqlite.storage.WriteRefused;
import io.distributedsqlite.wire.BadRequest;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** Writing JSON responses and errors, and reading bounded request bodies. */
final class Responses {
  private Responses() {}

  static void json(RoutingContext ctx, int status, String body) {
    HttpServerResponse res = ctx.response();
    if (res.ended() || res.closed()) {
      return;
    }
    res.setStatusCode(status).putHeader("content-type", "application/json").end(body);
  }

  static void json(RoutingContext ctx, int status, JsonObject body) {
    json(ctx, status, body.encode());
  }

  /** The one error shape: {@code {"error":"<code>","message":"<human text>"}} plus optional extras. */
  static void error(RoutingContext ctx, int status, String code, String message) {
    json(ctx, status, new JsonObject().put("error", code).put("message", message));
  }

  static void error(RoutingContext ctx, BadRequest e) {
    error(ctx, e.status(), e.code(), e.getMessage());
  }

  /**
   * Reads the whole body, refusing more than {@code limit} bytes with 413 as soon as the
   * Content-Length or the bytes received say so, instead of buffering without bound.
   */
  static Future<byte[]> body(RoutingContext ctx, int limit) {
    HttpServerRequest req = ctx.request();
    String length = req.getHeader("Content-Length");
    if (length != null) {
      try {
        if (Long.parseLong(length.trim()) > limit) {
          return Future.failedFuture(new BadRequest(413, "body_too_large", "request body exceeds " + limit + " bytes"));
        }
      } catch (NumberFormatException e) {
        return Future.failedFuture(BadRequest.of("invalid_header", "Content-Length is not a number"));
      }
    }
    Promise<byte[]> promise = Promise.promise();
    Buffer buf = Buffer.buffer();
    req.handler(chunk -> {
      if (buf.length() + chunk.length() > limit) {
        promise.tryFail(new BadRequest(413, "body_too_large", "request body exceeds " + limit + " bytes"));
      } else {
        buf.appendBuffer(chunk);
      }
    });
    req.endHandler(v -> promise.tryComplete(buf.getBytes()));
    req.exceptionHandler(promise::tryFail);
    req.resume();
    return promise.future();
  }

  /** Any failure of a request's future becomes a JSON error; never a stack trace. */
  static void fail(RoutingContext ctx, Throwable t) {
    if (t instanceof BadRequest b) {
      if (b.status() == 413) {
        ctx.response().putHeader("connection", "close");
      }
      error(ctx, b);
    } else if (t instanceof WriteRefused r) {
      RefusalAnswer.of(r).send(ctx);
    } else if (t instanceof io.vertx.core.eventbus.ReplyException r
        && r.failureType() == io.vertx.core.eventbus.ReplyFailure.TIMEOUT) {
      error(ctx, 503, "timeout", "the node did not finish the request in time");
    } else {
      org.slf4j.LoggerFactory.getLogger(Responses.class).warn("request {} {} failed", ctx.request().method(), ctx.request().path(), t);
      error(ctx, 500, "internal", "the node failed to handle the request");
    }
  }
}
