package io.distributedsqlite.http;

import io.distributedsqlite.config.ApiTokens;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;

/**
 * Client authentication for the client API when API tokens are configured: a request needs
 * {@code Authorization: Bearer <token>}; no or an unknown token is 401, a read-only token on a
 * write is 403. Health, readiness and metrics stay open (probes and scrapers carry no tokens);
 * {@code /internal/*} is guarded by the cluster token instead.
 */
final class ClientAuth {
  private final ApiTokens tokens;

  ClientAuth(ApiTokens tokens) {
    this.tokens = tokens;
  }

  void requireRead(RoutingContext ctx) {
    check(ctx, false);
  }

  void requireWrite(RoutingContext ctx) {
    check(ctx, true);
  }

  private void check(RoutingContext ctx, boolean write) {
    if (!tokens.enabled()) {
      ctx.next();
      return;
    }
    String header = ctx.request().getHeader("Authorization");
    String token = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim() : null;
    Optional<ApiTokens.Access> access = tokens.access(token);
    if (access.isEmpty()) {
      ctx.response().putHeader("WWW-Authenticate", "Bearer");
      Responses.error(ctx, 401, "unauthorized", "a valid API token is required (Authorization: Bearer <token>)");
    } else if (write && access.get() != ApiTokens.Access.READ_WRITE) {
      Responses.error(ctx, 403, "forbidden", "this token is read-only");
    } else {
      ctx.next();
    }
  }
}
