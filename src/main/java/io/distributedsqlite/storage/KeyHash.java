package io.distributedsqlite.storage;

import java.nio.charset.StandardCharsets;

/**
 * The one hash of a key used everywhere: ring placement and anti-entropy buckets. 64-bit FNV-1a
 * over the UTF-8 bytes, finished with a murmur3 mix so nearby keys spread over the whole ring.
 */
public final class KeyHash {
  /** Anti-entropy buckets: the top bits of the hash, so a bucket is a contiguous token range. */
  public static final int BUCKET_BITS = 10;
  public static final int BUCKETS = 1 << BUCKET_BITS;

  private KeyHash() {}

  public static long of(String key) {
    return of(key.getBytes(StandardCharsets.UTF_8));
  }

  public static long of(byte[] bytes) {
    long h = 0xcbf29ce484222325L;
    for (byte b : bytes) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  public static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb93fe53a32e5L;
    h ^= h >>> 33;
    return h;
  }

  public static int bucket(String key) {
    return (int) (of(key) >>> (64 - BUCKET_BITS));
  }
}
