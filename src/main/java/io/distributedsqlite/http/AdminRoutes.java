package io.distributedsqlite.http;

import io.distributedsqlite.storage.Backups;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Backups of this node: {@code POST /admin/backup} takes an online snapshot into BACKUP_DIR
 * (writes go on meanwhile), {@code GET /admin/backups} lists them, {@code GET /admin/backups/<name>}
 * streams one. Taking one needs a read-write token, listing and downloading a read token (a
 * snapshot holds every record, as a scan would show them).
 */
final class AdminRoutes {
  private final NodeServices services;
  private final Backups backups;

  AdminRoutes(Vertx vertx, NodeServices services) {
    this.services = services;
    this.backups = new Backups(vertx, services.config().dataDir(), services.config().backupDir(), services.config().nodeName());
  }

  void mount(Router router) {
    ClientAuth auth = new ClientAuth(services.config().apiTokens());
    router.post("/admin/backup").handler(auth::requireWrite).handler(this::backup);
    router.get("/admin/backups").handler(auth::requireRead).handler(this::list);
    router.get("/admin/backups/:name").handler(auth::requireRead).handler(this::download);
  }

  private void backup(RoutingContext ctx) {
    backups.take().onSuccess(info -> Responses.json(ctx, 200, json(info).put("took_ms", info.tookMs())
            .put("node_id", services.config().nodeName())))
        .onFailure(t -> Responses.error(ctx, 500, "backup_failed", "the backup could not be taken: " + t.getMessage()));
  }

  private void list(RoutingContext ctx) {
    backups.list().onSuccess(list -> {
      JsonArray items = new JsonArray();
      list.forEach(i -> items.add(json(i)));
      Responses.json(ctx, 200, new JsonObject().put("node_id", services.config().nodeName())
          .put("dir", services.config().backupDir().toString()).put("backups", items));
    }).onFailure(t -> Responses.fail(ctx, t));
  }

  private void download(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    var file = backups.file(name);
    if (file.isEmpty()) {
      Responses.error(ctx, 404, "not_found", "no backup of that name on this node");
      return;
    }
    ctx.response().putHeader("content-type", "application/vnd.sqlite3")
        .putHeader("content-disposition", "attachment; filename=\"" + name + "\"")
        .sendFile(file.get().toString())
        .onFailure(t -> Responses.error(ctx, 500, "internal", "the backup could not be sent"));
  }

  private static JsonObject json(Backups.Info i) {
    return new JsonObject().put("file", i.name()).put("bytes", i.bytes()).put("records", i.records())
        .put("tombstones", i.tombstones())
        .put("highest_version", i.highestVersion() == null ? null : i.highestVersion().toString())
        .put("created_at", java.time.Instant.ofEpochMilli(i.createdAt()).toString());
  }
}
