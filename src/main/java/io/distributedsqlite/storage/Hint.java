package io.distributedsqlite.storage;

/** A write kept for a replica that did not acknowledge it; {@code id} orders deletion after delivery. */
public record Hint(long id, int peer, Record record) {}
