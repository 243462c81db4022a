package io.distributedsqlite.cluster;

import io.distributedsqlite.storage.KeyHash;
import io.vertx.core.buffer.Buffer;
import java.util.Base64;

/**
 * The wire form of a node's {@link KeyHash#BUCKETS} bucket digests in {@code /internal/digests}:
 * each digest as 8 big-endian bytes, all of them base64-encoded in one string.
 */
public final class DigestCodec {
  private DigestCodec() {}

  public static String encode(long[] digests) {
    Buffer b = Buffer.buffer(digests.length * 8);
    for (long d : digests) {
      b.appendLong(d);
    }
    return Base64.getEncoder().encodeToString(b.getBytes());
  }

  /** The digests a peer sent; fails when they are not exactly one per bucket. */
  public static long[] decode(String base64) {
    byte[] bytes = Base64.getDecoder().decode(base64);
    Buffer b = Buffer.buffer(bytes);
    long[] out = new long[bytes.length / 8];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.getLong(i * 8);
    }
    if (out.length != KeyHash.BUCKETS) {
      throw new IllegalStateException("peer sent " + out.length + " digests, expected " + KeyHash.BUCKETS);
    }
    return out;
  }
}
