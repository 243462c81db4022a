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
    return c != 0 ? c : KeyRange.compare(key, o.key);
  }
}
