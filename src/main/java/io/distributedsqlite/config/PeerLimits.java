package io.distributedsqlite.config;

/**
 * How much one replica-to-replica request or answer carries. Every exchange (coordinator batches,
 * hint replay, anti-entropy listings, pushes and pulls, quorum reads) is bounded in records by its
 * own count and in bytes by {@link #BATCH_BYTES} (coordinator batches by their own bound, see
 * {@link #COORDINATOR_BATCH_BYTES}); a single record larger than that travels alone.
 * The receiver's body limit is above the largest batch a sender builds, so a batch is never
 * refused for its size, and neither side ever holds more than about one batch of one exchange.
 */
public final class PeerLimits {
  /**
   * Wire bytes of the records in one request or answer, unless a single record is larger: so a
   * value of the default MAX_VALUE_BYTES (1 MiB) travels in a batch of one. Small records are
   * bounded by each exchange's count long before this (500 records of 2 KiB).
   */
  public static final int BATCH_BYTES = 1 << 20;
  /**
   * The slowest transfer a bulk request is given time for beyond PEER_TIMEOUT (bytes per second):
   * a busy replica that takes seconds to commit a few MiB of values is slow, not down.
   */
  public static final int SLOWEST_TRANSFER = 1 << 20;
  /** A record's wire bytes besides its value: the key quoted (at most 6 bytes for each of 1024), version, flags. */
  public static final int RECORD_OVERHEAD = 8 << 10;
  /**
   * A coordinator's batch to a replica (ReplicaLink) is bounded by 4 MiB of characters, which is
   * at most 12 MiB of UTF-8: coalescing many client writes into one commit is what makes the write
   * path fast, so it keeps its own bound, and the receiver accepts it.
   */
  public static final int COORDINATOR_BATCH_BYTES = 3 * (4 << 20);
  /** Brackets, commas and the answer's own fields around the records of a batch. */
  public static final int ENVELOPE = 64 << 10;

  private PeerLimits() {}

  /** The largest batch a sender builds: the byte budget, or one record with the largest value allowed. */
  public static int largestBatch(int maxValueBytes) {
    return Math.max(BATCH_BYTES, maxValueBytes + RECORD_OVERHEAD);
  }

  /** What {@code /internal/*} accepts as a request body: the largest batch any sender builds, and its envelope. */
  public static int bodyLimit(int maxValueBytes) {
    return Math.max(COORDINATOR_BATCH_BYTES, largestBatch(maxValueBytes)) + ENVELOPE;
  }

  /** The timeout of a peer request that moves {@code bytes}: PEER_TIMEOUT plus their time at {@link #SLOWEST_TRANSFER}. */
  public static long timeoutMs(long peerTimeoutMs, long bytes) {
    return peerTimeoutMs + bytes * 1000 / SLOWEST_TRANSFER;
  }

  /** Whether a record of {@code bytes} still fits a batch that holds {@code count} records of {@code total} bytes. */
  public static boolean fits(int count, long total, long bytes) {
    return count == 0 || total + bytes <= BATCH_BYTES;
  }
}
