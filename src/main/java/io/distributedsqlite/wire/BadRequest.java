package io.distributedsqlite.wire;

/** Input the node refuses; carries the status and the JSON error code the client gets. */
public final class BadRequest extends Exception {
  private final int status;
  private final String code;

  public BadRequest(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  public static BadRequest of(String code, String message) {
    return new BadRequest(400, code, message);
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }
}
