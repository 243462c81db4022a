package io.distributedsqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.distributedsqlite.support.Await;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/** A starting node logs its current step with records done of total until start-up ends. */
@ExtendWith(VertxExtension.class)
class StartupProgressTest {
  private final Logger logger = (Logger) LoggerFactory.getLogger(StartupProgress.class);
  private final List<String> logged = new CopyOnWriteArrayList<>();
  private final AppenderBase<ILoggingEvent> lines = new AppenderBase<>() {
    @Override
    protected void append(ILoggingEvent event) {
      logged.add(event.getFormattedMessage());
    }
  };
  private Vertx vertx;

  @BeforeEach
  void capture(Vertx vertx) {
    this.vertx = vertx;
    lines.start();
    logger.addAppender(lines);
    logger.setLevel(Level.INFO);
    logger.setAdditive(false);
  }

  @AfterEach
  void release() {
    logger.detachAppender(lines);
    logger.setLevel(null);
    logger.setAdditive(true);
  }

  @Test
  void logsRecordsDoneOfTotalEveryIntervalWhileAStepRuns() throws Exception {
    StartupProgress progress = StartupProgress.start(vertx, Duration.ofMillis(50));
    progress.step("rebuilding the digest index", 10);
    for (int i = 0; i < 3; i++) {
      progress.record();
    }
    String expected = "start-up: rebuilding the digest index: 3 of 10 records (30%)";
    assertTrue(Await.poll(Duration.ofSeconds(10), () -> messages().stream().anyMatch(m -> m.startsWith(expected))),
        () -> "progress lines: " + messages());
    assertTrue(messages().contains("start-up: rebuilding the digest index (10 records)"), "the step's first line");
  }

  @Test
  void aStepWithoutCountsReportsItsTimeAndFinishStopsTheReports(VertxTestContext ctx) {
    StartupProgress progress = StartupProgress.start(vertx, Duration.ofMillis(20));
    progress.step("opening and checking (quick_check) node.db");
    assertTrue(progress.report().matches("start-up: opening and checking \\(quick_check\\) node\\.db, \\d+s since start"),
        progress.report());
    progress.finish();
    // Timers fire in order: once a timer of five report intervals has fired, a report not
    // cancelled would have been logged several times.
    int after = messages().size();
    vertx.timer(100).onComplete(ctx.succeeding(fired -> ctx.verify(() -> {
      assertEquals(after, messages().size(), "no reports after finish: " + messages());
      ctx.completeNow();
    })));
  }

  private List<String> messages() {
    return List.copyOf(logged);
  }
}
