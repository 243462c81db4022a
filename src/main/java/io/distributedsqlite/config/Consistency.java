package io.distributedsqlite.config;

import java.util.Locale;

/**
 * How many of a key's RF replicas must take part before a write is acknowledged or a read
 * answers. One meaning each, checked in one place ({@link #required(int)}).
 */
public enum Consistency {
  ONE,
  QUORUM,
  ALL;

  /** Replicas that must answer at this level when a key has {@code replicationFactor} replicas. */
  public int required(int replicationFactor) {
    return switch (this) {
      case ONE -> 1;
      case QUORUM -> replicationFactor / 2 + 1;
      case ALL -> replicationFactor;
    };
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code one|quorum|all}, case-insensitive; throws IllegalArgumentException otherwise. */
  public static Consistency parse(String text) {
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "one" -> ONE;
      case "quorum" -> QUORUM;
      case "all" -> ALL;
      default -> throw new IllegalArgumentException("expected one, quorum or all, got '" + text + "'");
    };
  }
}
