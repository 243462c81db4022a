package io.distributedsqlite.storage;

import java.util.Comparator;

/**
 * A half-open range of keys {@code [start, end)} in key order; null means unbounded on that side.
 * Key order is SQLite's BINARY collation of UTF-8 text, which is Unicode code point order
 * ({@link #ORDER}); Java's {@link String#compareTo} differs from it above U+FFFF, so every
 * comparison of keys that must agree with SQLite goes through {@link #ORDER}.
 */
public record KeyRange(String start, String end) {
  /** Unicode code point order, the order SQLite sorts UTF-8 keys in. */
  public static final Comparator<String> ORDER = KeyRange::compare;

  public static final KeyRange ALL = new KeyRange(null, null);

  /** The keys that begin with {@code prefix}. */
  public static KeyRange prefix(String prefix) {
    return new KeyRange(prefix.isEmpty() ? null : prefix, successor(prefix));
  }

  public boolean contains(String key) {
    return (start == null || compare(key, start) >= 0) && (end == null || compare(key, end) < 0);
  }

  /** True when no key can lie in the range. */
  public boolean isEmpty() {
    return start != null && end != null && compare(start, end) >= 0;
  }

  /**
   * The smallest string greater than every string that starts with {@code prefix} (null when
   * there is none): the prefix with its last code point incremented, dropping trailing
   * U+10FFFF, skipping the surrogate range.
   */
  static String successor(String prefix) {
    int[] cps = prefix.codePoints().toArray();
    for (int i = cps.length - 1; i >= 0; i--) {
      if (cps[i] < Character.MAX_CODE_POINT) {
        int next = cps[i] + 1;
        if (next >= Character.MIN_SURROGATE && next <= Character.MAX_SURROGATE) {
          next = Character.MAX_SURROGATE + 1;
        }
        cps[i] = next;
        return new String(cps, 0, i + 1);
      }
    }
    return null;
  }

  /** Compares by code point, which is SQLite's BINARY order of the same strings in UTF-8. */
  public static int compare(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }
}
