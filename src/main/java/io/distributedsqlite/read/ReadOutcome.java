package io.distributedsqlite.read;

import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.storage.Record;

/**
 * The newest record among the replicas that answered (null when none holds the key), and the
 * counts behind it: replicas asked, answered, needed, and repaired (sent the newest version).
 */
public record ReadOutcome(Record newest, Consistency level, int asked, int required, int answered, int repaired) {
  public boolean met() {
    return answered >= required;
  }
}
