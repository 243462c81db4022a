package io.distributedsqlite.storage;

/** The database cannot be opened or used; the message is meant for an operator. */
public final class StorageException extends Exception {
  public StorageException(String message) {
    super(message);
  }

  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
