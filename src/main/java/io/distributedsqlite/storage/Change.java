package io.distributedsqlite.storage;

/**
 * One committed change of a key, as {@link ChangeListener} hears it: {@code previous} is the
 * replaced record (null when the key was new), {@code current} the new one (null when the key was
 * removed: a purged tombstone, a dropped stray).
 */
record Change(Record previous, Record current) {}
