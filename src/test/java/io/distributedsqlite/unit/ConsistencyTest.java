package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.distributedsqlite.config.Consistency;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConsistencyTest {

  @ParameterizedTest(name = "RF={0}: one={1} quorum={2} all={3}")
  @CsvSource({
      "1, 1, 1, 1",
      "2, 1, 2, 2",
      "3, 1, 2, 3",
      "4, 1, 3, 4",
      "5, 1, 3, 5",
  })
  void requiredReplicasPerLevel(int rf, int one, int quorum, int all) {
    assertEquals(one, Consistency.ONE.required(rf));
    assertEquals(quorum, Consistency.QUORUM.required(rf));
    assertEquals(all, Consistency.ALL.required(rf));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5})
  void quorumReadsAndWritesOverlap(int rf) {
    int q = Consistency.QUORUM.required(rf);
    assertEquals(true, q + q > rf, "r=quorum plus w=quorum must exceed RF");
    assertEquals(true, Consistency.ONE.required(rf) + Consistency.ALL.required(rf) > rf);
  }

  @Test
  void parsesWireNamesCaseInsensitively() {
    for (Consistency c : Consistency.values()) {
      assertEquals(c, Consistency.parse(c.wireName()));
      assertEquals(c, Consistency.parse(c.wireName().toUpperCase()));
    }
    assertEquals("quorum", Consistency.QUORUM.wireName());
    assertEquals(Consistency.ALL, Consistency.parse("All"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "two", "majority", "any", " one", "local_quorum"})
  void rejectsUnknownLevels(String text) {
    assertThrows(IllegalArgumentException.class, () -> Consistency.parse(text));
  }
}
