package io.distributedsqlite.replication;

import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.storage.Record;

/** A client write to coordinate; the record has no version yet (the coordinator stamps it). */
public record WriteRequest(String key, String value, boolean tombstone, long expiresAt, Consistency level) {}
