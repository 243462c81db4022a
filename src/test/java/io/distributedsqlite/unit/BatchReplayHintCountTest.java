package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.LocalCodec;
import io.distributedsqlite.storage.HybridLogicalClock;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.SqliteStore;
import io.distributedsqlite.storage.StorageCommand;
import io.distributedsqlite.storage.StorageVerticle;
import io.distributedsqlite.storage.Version;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * When one command of a group-commit batch fails, the storage worker rolls the batch back and
 * runs it again command by command. Hints stored by the first run were rolled back, so they must
 * not count against HINT_MAX_PER_PEER in the second, nor be counted as dropped twice.
 */
@ExtendWith(VertxExtension.class)
class BatchReplayHintCountTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
  void aBatchRunAgainAfterAFailedCommandCountsItsHintsOnce(Vertx vertx, VertxTestContext ctx) throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    for (Class<?> type : List.of(io.distributedsqlite.storage.ApplyResult.class, StorageCommand.Apply.class, StorageCommand.StoreHints.class)) {
      LocalCodec.register(vertx, type);
    }
    SqliteStore store = SqliteStore.open(dir, "FULL");
    StorageVerticle storage = new StorageVerticle(store, new HybridLogicalClock(0, 0, System::currentTimeMillis, 1_000), 5_000, 100_000, 1,
        (previous, current) -> {}, registry);
    Version v = Version.of(1_700_000_000_000L, 0, 0);
    // Keeps the worker busy, so the two commands below queue up behind it and form one batch.
    List<Record> busy = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      busy.add(Record.write("busy-" + i, "{\"i\":" + i + "}", v, 0));
    }
    vertx.deployVerticle(storage, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)).compose(id -> {
      Future<Object> first = vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(busy)).map(m -> m.body());
      Future<Object> hints = vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.StoreHints(1,
          List.of(Record.write("h1", "1", v, 0), Record.write("h2", "2", v, 0)))).map(m -> m.body());
      Future<Object> bad = vertx.eventBus().request(StorageVerticle.ADDRESS, new StorageCommand.Apply(
          List.of(Record.write("bad", "{not json", v, 0)))).map(m -> m.body());
      return Future.join(first, hints, bad).transform(all -> {
        assertEquals(2_000, ((io.distributedsqlite.storage.ApplyResult) first.result())
            .count(io.distributedsqlite.storage.ApplyResult.Kind.APPLIED));
        assertEquals(1, hints.result(), "HINT_MAX_PER_PEER=1: one of the two hints is kept");
        assertTrue(bad.failed(), "the malformed value fails alone");
        assertEquals(1.0, registry.get("dsqlite_hints_dropped").counter().count(), "one hint dropped, counted once");
        // Undeploying closes the store, so what it committed is on disk for the check below.
        return vertx.undeploy(id);
      });
    }).compose(undeployed -> vertx.executeBlocking(() -> {
      try (java.sql.Connection conn = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve(SqliteStore.FILE_NAME));
          java.sql.Statement st = conn.createStatement();
          java.sql.ResultSet rs = st.executeQuery("SELECT count(*) FROM hints WHERE peer = 1")) {
        assertEquals(1, rs.getInt(1), "the kept hint is stored");
      }
      return null;
    })).onComplete(ctx.succeedingThenComplete());
  }
}
