package io.distributedsqlite.storage;

import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;

/**
 * What one {@link StorageCommand} did in a group commit, and how its sender is answered: with the
 * reply body that command documents (an {@link ApplyResult}, an Integer, a JsonObject), or, for
 * {@link Failed}, with its {@link WriteRefused} on the event bus.
 */
sealed interface CommandResult {
  void answer(Message<?> sender);

  /** {@link StorageCommand.Apply}: what happened to each record. */
  record Applied(ApplyResult result) implements CommandResult {
    public void answer(Message<?> sender) {
      sender.reply(result);
    }
  }

  /** {@link StorageCommand.StoreHints}: {@code kept} of {@code offered}; the rest exceeded HINT_MAX_PER_PEER. */
  record HintsStored(int offered, int kept) implements CommandResult {
    int dropped() {
      return offered - kept;
    }

    public void answer(Message<?> sender) {
      sender.reply(kept);
    }
  }

  /** A command that replies how many rows it touched (hints deleted or dropped, strays removed, meta set). */
  record Counted(int count) implements CommandResult {
    public void answer(Message<?> sender) {
      sender.reply(count);
    }
  }

  /** {@link StorageCommand.PurgeTombstones}, {@link StorageCommand.PurgeExpired}: how many were purged, and the newest hlc ever purged. */
  record Purged(int purged, long purgedUpTo) implements CommandResult {
    public void answer(Message<?> sender) {
      sender.reply(new JsonObject().put("purged", purged).put("purged_up_to", purgedUpTo));
    }
  }

  /** The command failed alone (its savepoint was undone); the rest of its batch committed. */
  record Failed(WriteRefused refusal) implements CommandResult {
    public void answer(Message<?> sender) {
      refusal.failReply(sender);
    }
  }
}
