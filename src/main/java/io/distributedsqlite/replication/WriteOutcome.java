package io.distributedsqlite.replication;

import io.distributedsqlite.storage.Version;

/**
 * How a coordinated write ended: {@code acked} of {@code replicas} committed it, {@code required}
 * were needed. {@code failureStatus} is the local storage's refusal (503 queue full, 507 disk
 * full), or 0, so the client sees why when too few replicas acked. {@code restamps}: how often the
 * write was stamped again before the answer because a replica kept a newer version it had not
 * seen; {@code version} is the final stamp.
 */
public record WriteOutcome(Version version, int replicas, int required, int acked, int failureStatus, int restamps) {
  public boolean met() {
    return acked >= required;
  }
}
