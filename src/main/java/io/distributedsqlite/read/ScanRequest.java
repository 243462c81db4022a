package io.distributedsqlite.read;

import io.distributedsqlite.config.Consistency;
import io.distributedsqlite.storage.KeyRange;

/**
 * One page of a client scan: up to {@code limit} live keys of {@code range} after the key
 * {@code after} (null: from the start), with values or without, at read level {@code level}.
 */
public record ScanRequest(KeyRange range, String after, int limit, boolean values, Consistency level) {}
