package io.distributedsqlite.storage;

/**
 * A place in the anti-entropy order of records: by bucket, then by key in SQLite's order of text
 * (the bytes of its UTF-8, which is the order of code points). Bucket listings are paged by it
 * and both sides of a comparison walk their listings in it.
 */
public record BucketPosition(int bucket, String key) implements Comparable<BucketPosition> {

  public static BucketPosition of(String key) {
    return new BucketPosition(KeyHash.bucket(key), key);
  }

  @Override
  public int compareTo(BucketPosition o) {
    int c = Integer.compare(bucket, o.bucket);
    return c != 0 ? c : compareKeys(key, o.key);
  }

  /** Compares by code point, which is SQLite's BINARY order of the same strings in UTF-8. */
  public static int compareKeys(String a, String b) {
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
