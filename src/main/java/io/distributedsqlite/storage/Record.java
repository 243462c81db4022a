package io.distributedsqlite.storage;

/**
 * One stored key: {@code value} is compact JSON text (null for a tombstone), {@code expiresAt} is
 * epoch milliseconds or 0 for never. Immutable; passed by reference over the local event bus.
 */
public record Record(String key, String value, Version version, boolean tombstone, long expiresAt) {

  public static Record write(String key, String value, Version version, long expiresAt) {
    return new Record(key, value, version, false, expiresAt);
  }

  public static Record tombstone(String key, Version version) {
    return new Record(key, null, version, true, 0);
  }

  /** Absent for a reader: deleted, or past its TTL. */
  public boolean isAbsentAt(long nowMillis) {
    return tombstone || (expiresAt > 0 && expiresAt <= nowMillis);
  }

  /** The merge rule: the incoming record replaces {@code current} only when its version is newer. */
  public boolean supersedes(Record current) {
    return current == null || version.isNewerThan(current.version);
  }

  /** Approximate bytes this record occupies in memory and on the wire; for batching limits. */
  public int weight() {
    return 64 + key.length() + (value == null ? 0 : value.length());
  }
}
