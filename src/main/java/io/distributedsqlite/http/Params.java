package io.distributedsqlite.http;

import io.distributedsqlite.wire.RecordFields;
import io.distributedsqlite.wire.BadRequest;

import io.distributedsqlite.config.Consistency;
import io.vertx.core.MultiMap;
import io.vertx.ext.web.RoutingContext;

/** Query-string parameters, validated; malformed encodings become 400s instead of exceptions. */
final class Params {
  private Params() {}

  static MultiMap query(RoutingContext ctx) throws BadRequest {
    try {
      return ctx.queryParams();
    } catch (RuntimeException e) {
      throw BadRequest.of("invalid_query", "the query string is not valid URL encoding");
    }
  }

  static String key(MultiMap q) throws BadRequest {
    if (q.getAll("key").size() > 1) {
      throw BadRequest.of("invalid_key", "give key once");
    }
    String key = q.get("key");
    RecordFields.validateKey(key);
    return key;
  }

  static Consistency consistency(MultiMap q, String name, Consistency def) throws BadRequest {
    String v = q.get(name);
    if (v == null) {
      return def;
    }
    try {
      return Consistency.parse(v);
    } catch (IllegalArgumentException e) {
      throw BadRequest.of("invalid_consistency", name + " must be one, quorum or all");
    }
  }

  /** An integer query parameter in {@code min..max}; anything else is 400 {@code invalid_<name>}. */
  static int intParam(RoutingContext ctx, String name, int min, int max) throws BadRequest {
    String v = query(ctx).get(name);
    try {
      int n = Integer.parseInt(v);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // falls through to the error below
    }
    throw BadRequest.of("invalid_" + name, name + " must be an integer in " + min + ".." + max);
  }
}
