package io.distributedsqlite.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.storage.Version;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VersionTest {

  @Test
  void ordersByClockThenByNodeId() {
    Version a = Version.of(1000, 0, 9);
    Version b = Version.of(1000, 1, 0);
    Version c = Version.of(1001, 0, 0);
    Version d = Version.of(1001, 0, 1);
    assertTrue(b.isNewerThan(a), "the counter outranks the node id");
    assertTrue(c.isNewerThan(b), "milliseconds outrank the counter");
    assertTrue(d.isNewerThan(c), "equal clocks are ordered by node id");
    assertFalse(c.isNewerThan(d));
    assertEquals(0, Version.of(5, 5, 5).compareTo(Version.of(5, 5, 5)));
    assertFalse(Version.of(5, 5, 5).isNewerThan(Version.of(5, 5, 5)));

    List<Version> shuffled = new ArrayList<>(List.of(d, a, c, b));
    Collections.shuffle(shuffled, new Random(1));
    Collections.sort(shuffled);
    assertEquals(List.of(a, b, c, d), shuffled);
  }

  @Test
  void wireFormIsMillisCounterNode() {
    Version v = Version.of(1764084083123L, 7, 2);
    assertEquals("1764084083123.7.2", v.toString());
    assertEquals(1764084083123L, v.millis());
    assertEquals(7, v.counter());
    assertEquals(2, v.nodeId());
  }

  @Test
  void wireFormRoundTrips() {
    Random rnd = new Random(42);
    for (int i = 0; i < 1_000; i++) {
      Version v = Version.of(rnd.nextLong() >>> 18, rnd.nextInt(65_536), rnd.nextInt(1024));
      Version back = Version.parse(v.toString());
      assertEquals(v, back);
      assertEquals(0, v.compareTo(back));
    }
    Version max = Version.of(Version.MAX_MILLIS - 1, 65_535, Integer.MAX_VALUE);
    assertEquals(max, Version.parse(max.toString()));
    assertEquals(Version.of(0, 0, 0), Version.parse("0.0.0"));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "", ".", "..", "1", "1.2", "1.2.3.4", "a.0.0", "1.b.0", "1.0.c", "1..0", ".0.0", "1.0.",
      "-1.0.0", "1.-1.0", "1.0.-1", "1.65536.0", "140737488355328.0.0", "1.0.99999999999",
      "99999999999999999999.0.0", " 1.0.0", "1.0.0 ", "1.0.0\n", "1,0,0", "1.5e3.0.0", "0x1.0.0", "1.0.0.",
  })
  void malformedWireFormsAreRejected(String text) {
    assertThrows(IllegalArgumentException.class, () -> Version.parse(text));
  }
}
