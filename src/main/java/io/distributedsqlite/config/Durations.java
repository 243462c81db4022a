package io.distributedsqlite.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses durations written as a number and a unit: {@code 250ms}, {@code 5s}, {@code 10m}, {@code 3h}, {@code 10d}. */
public final class Durations {
  private static final Pattern FORMAT = Pattern.compile("(\\d{1,12})(ms|s|m|h|d)");

  private Durations() {}

  public static Duration parse(String text) {
    Matcher m = FORMAT.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("expected a duration such as 500ms, 5s, 10m, 3h or 10d, got '" + text + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }
}
