package io.distributedsqlite.read;

import io.distributedsqlite.config.Consistency;

/** A client read to coordinate at a consistency level. */
public record ReadRequest(String key, Consistency level) {}
