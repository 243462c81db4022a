package io.distributedsqlite.storage;

/**
 * A record's version: a hybrid logical clock stamp ({@code hlc} = wall-clock milliseconds in the
 * high 48 bits, a logical counter in the low 16) and the id of the node that wrote it as the
 * tie-break. Totally ordered, so last-writer-wins picks the same winner on every replica.
 *
 * <p>Wire form: {@code <millis>.<counter>.<node>}, e.g. {@code 1764084083123.0.2}.
 */
public record Version(long hlc, int nodeId) implements Comparable<Version> {
  static final int COUNTER_BITS = 16;
  static final long COUNTER_MASK = (1L << COUNTER_BITS) - 1;
  /** Year 4199: far beyond any real clock, and low enough that hlc + 1 can never overflow. */
  public static final long MAX_MILLIS = 1L << 46;

  public static Version of(long millis, int counter, int nodeId) {
    return new Version((millis << COUNTER_BITS) | (counter & COUNTER_MASK), nodeId);
  }

  public long millis() {
    return hlc >>> COUNTER_BITS;
  }

  public int counter() {
    return (int) (hlc & COUNTER_MASK);
  }

  @Override
  public int compareTo(Version o) {
    int c = Long.compare(hlc, o.hlc);
    return c != 0 ? c : Integer.compare(nodeId, o.nodeId);
  }

  public boolean isNewerThan(Version o) {
    return compareTo(o) > 0;
  }

  @Override
  public String toString() {
    return millis() + "." + counter() + "." + nodeId;
  }

  /** Parses the wire form; throws IllegalArgumentException on anything else. */
  public static Version parse(String text) {
    String[] parts = text.split("\\.", -1);
    if (parts.length != 3) {
      throw new IllegalArgumentException("version must be <millis>.<counter>.<node>: " + text);
    }
    try {
      long millis = Long.parseLong(parts[0]);
      int counter = Integer.parseInt(parts[1]);
      int node = Integer.parseInt(parts[2]);
      if (millis < 0 || millis >= MAX_MILLIS || counter < 0 || counter > COUNTER_MASK || node < 0) {
        throw new IllegalArgumentException("version out of range: " + text);
      }
      return of(millis, counter, node);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("version must be <millis>.<counter>.<node>: " + text);
    }
  }
}
