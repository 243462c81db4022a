package io.distributedsqlite.read;

import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.storage.Record;

/**
 * The newest record among the replicas that answered (null when none holds the key), and the
 * counts behind it: the key's replicas, how many were asked, needed and answered, and how many
 * of those that answered were found stale (and are sent the newest version). {@code met}: the
 * level was met (during a membership change, among the current and among the next replicas; {@code joint}: such a change was in progress for the key).
 */
public record ReadOutcome(Record newest, Consistency level, int replicas, int asked, int required, int answered, boolean met,
    boolean joint, int repaired) {}
