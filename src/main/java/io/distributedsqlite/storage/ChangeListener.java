package io.distributedsqlite.storage;

/**
 * Told of every committed change, on the storage worker thread, after its transaction committed:
 * {@code previous} is the replaced record (null when the key was new), {@code current} the new one
 * (null when a purge removed the key). Anti-entropy digests are kept up to date this way.
 */
public interface ChangeListener {
  void changed(Record previous, Record current);
}
