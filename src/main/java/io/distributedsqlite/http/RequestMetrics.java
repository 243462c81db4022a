package io.distributedsqlite.http;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Counts and times every HTTP request by route, method and status (dsqlite_http_requests_seconds). */
final class RequestMetrics {
  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

  RequestMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** First handler of every route: times the request until its response is written. */
  void handle(RoutingContext ctx) {
    long start = System.nanoTime();
    String method = methodTag(ctx.request().method().name());
    ctx.addEndHandler(v -> {
      String route = ctx.currentRoute() != null && ctx.currentRoute().getPath() != null ? ctx.currentRoute().getPath() : "unmatched";
      int status = ctx.response().getStatusCode();
      timer(route, method, status).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    });
    ctx.next();
  }

  /** Clients can send any token as a method: only known ones become tag values, so series stay bounded. */
  private static String methodTag(String method) {
    return switch (method) {
      case "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH" -> method;
      default -> "OTHER";
    };
  }

  private Timer timer(String route, String method, int status) {
    String id = route + ' ' + method + ' ' + status;
    return timers.computeIfAbsent(id, k -> Timer.builder("dsqlite_http_requests")
        .description("HTTP requests by route, method and status")
        .tags("route", route, "method", method, "status", Integer.toString(status))
        .publishPercentileHistogram()
        .register(registry));
  }
}
