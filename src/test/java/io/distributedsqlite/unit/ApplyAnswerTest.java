package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.distributedsqlite.wire.ApplyAnswer;
import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.storage.ApplyResult.Outcome;
import io.distributedsqlite.storage.Version;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ApplyAnswerTest {

  @Test
  void perRecordOutcomesSurviveTheWire() {
    ApplyResult result = new ApplyResult(List.of(Outcome.APPLIED, Outcome.supersededBy(Version.of(1_800_000_000_123L, 4, 2)),
        Outcome.REFUSED_FUTURE, Outcome.APPLIED));
    String wire = ApplyAnswer.encode(result, "\"node_id\":\"1\"");
    JsonObject json = new JsonObject(wire);
    assertEquals(2, json.getInteger("applied"));
    assertEquals(result, ApplyAnswer.decode(wire.getBytes(StandardCharsets.UTF_8), 4));
  }

  @Test
  void anAnswerWithoutDetailsMeansEveryRecordApplied() {
    String plain = ApplyAnswer.encode(ApplyResult.allApplied(3), "\"node_id\":\"0\"");
    assertEquals("{\"status\":\"applied\",\"applied\":3,\"node_id\":\"0\"}", plain, "the all-applied answer stays as small as before");
    assertEquals(ApplyResult.allApplied(3), ApplyAnswer.decode(plain.getBytes(StandardCharsets.UTF_8), 3));
  }

  @Test
  void aMalformedAnswerIsAnError() {
    byte[] bad = "{\"refused\":[7]}".getBytes(StandardCharsets.UTF_8);
    assertThrows(IllegalArgumentException.class, () -> ApplyAnswer.decode(bad, 2));
  }
}
