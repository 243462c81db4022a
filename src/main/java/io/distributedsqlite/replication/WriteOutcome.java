package io.distributedsqlite.replication;

import io.distributedsqlite.storage.Version;
import io.distributedsqlite.storage.WriteRefused;

/**
 * How a coordinated write ended: {@code acked} of {@code replicas} committed it, {@code required}
 * were needed ({@code met}: the level was met; during a membership change among the current and
 * among the next replicas both; {@code joint}: such a change was in progress for the key). {@code localRefusal} is this node's own storage refusing the write (queue full,
 * disk full, other storage error), or null. {@code restamps}: how often the write was stamped
 * again before the answer because a replica kept a newer version it had not seen; {@code version}
 * is the final stamp.
 */
public record WriteOutcome(Version version, int replicas, int required, int acked, boolean met, boolean joint,
    WriteRefused localRefusal, int restamps) {

  /**
   * The refusal the client gets instead of "consistency not met", so it sees why: no replica
   * acknowledged and this node's storage refused the write as overloaded or out of disk. Any
   * other local storage error answers as the level not met, like a replica that did not answer.
   * Null when the write met its level or no such refusal explains it.
   */
  public WriteRefused refusal() {
    if (met || acked > 0 || localRefusal == null) {
      return null;
    }
    WriteRefused.Reason reason = localRefusal.reason();
    return reason == WriteRefused.Reason.OVERLOADED || reason == WriteRefused.Reason.DISK_FULL ? localRefusal : null;
  }
}
