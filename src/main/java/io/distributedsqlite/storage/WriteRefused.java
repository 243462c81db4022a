package io.distributedsqlite.storage;

import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import java.sql.SQLException;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * This node refused a write, and {@link #reason()} says why. The one type for it on every layer:
 * the storage worker refuses a command with it, the write coordinator keeps the local refusal in
 * its {@code WriteOutcome} and fails a write it cannot stamp with it, and the HTTP routes turn it
 * into a status and JSON error in one place ({@code http.RefusalAnswer}).
 *
 * <p>Between the storage worker and its senders it travels as a {@link ReplyException} with an
 * int failure code: {@link #failReply} and {@link #from} are the only two conversions.
 */
public final class WriteRefused extends Exception {

  public enum Reason {
    /** A write queue is full (the storage worker's, or a coordinator's link to it): backpressure. */
    OVERLOADED(1),
    /** The disk refused the write: full (SQLITE_FULL, SQLITE_MAX_DB_BYTES) or an I/O error. */
    DISK_FULL(2),
    /** Any other storage failure (a constraint, a failed COMMIT). */
    STORAGE_ERROR(3),
    /** This node's clock is unfit to stamp writes (too far off its peers, or not measured yet). */
    CLOCK_OFFSET(4);

    /** Event-bus failure code; not an HTTP status. */
    private final int failureCode;

    Reason(int failureCode) {
      this.failureCode = failureCode;
    }
  }

  private final Reason reason;

  public WriteRefused(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  /** What a failed SQLite statement or COMMIT means for the writes it carried. */
  static WriteRefused of(SQLException e) {
    if (e instanceof SQLiteException se) {
      SQLiteErrorCode code = se.getResultCode();
      if (code == SQLiteErrorCode.SQLITE_FULL || code.name().startsWith("SQLITE_IOERR")) {
        return new WriteRefused(Reason.DISK_FULL, e.getMessage());
      }
    }
    return new WriteRefused(Reason.STORAGE_ERROR, e.getMessage());
  }

  /** Refuses the command {@code msg} carried: its sender's future fails with a ReplyException that {@link #from} reads back. */
  public void failReply(Message<?> msg) {
    msg.fail(reason.failureCode, getMessage());
  }

  /**
   * The refusal behind a failed write future: the refusal itself, or a storage worker's reply
   * made by {@link #failReply}. Null for any other failure (a timeout, no handler), which callers
   * treat as they did before.
   */
  public static WriteRefused from(Throwable t) {
    if (t instanceof WriteRefused r) {
      return r;
    }
    if (t instanceof ReplyException re && re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
      for (Reason reason : Reason.values()) {
        if (reason.failureCode == re.failureCode()) {
          return new WriteRefused(reason, re.getMessage());
        }
      }
    }
    return null;
  }
}
