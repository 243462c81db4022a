package io.distributedsqlite.config;

/** A setting that cannot be used; its message is the one-line reason the node refuses to start. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
