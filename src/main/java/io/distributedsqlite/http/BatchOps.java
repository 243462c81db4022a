package io.distributedsqlite.http;

import io.distributedsqlite.wire.RecordJson;
import io.distributedsqlite.wire.RecordFields;
import io.distributedsqlite.wire.Json;
import io.distributedsqlite.wire.BadRequest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The body of {@code POST /batch}: {@code {"ops":[{"op":"set","key","value","ttl"?},
 * {"op":"delete","key"}]}}. Every op is validated before any is written; the first bad one
 * rejects the whole batch, naming its index. Values are kept as their exact JSON text.
 */
record BatchOps(List<Op> ops) {
  /** One op; {@code value} is null for a delete, {@code ttlSeconds} 0 for none. */
  record Op(boolean delete, String key, String value, long ttlSeconds) {}

  static BatchOps parse(byte[] bytes, int maxOps, int maxValueBytes) throws BadRequest {
    if (bytes.length == 0) {
      throw BadRequest.of("invalid_body", "request body is empty; expected {\"ops\":[...]}");
    }
    Json.requireUtf8(bytes);
    List<Op> ops = null;
    try (JsonParser p = Json.parser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw BadRequest.of("invalid_body", "expected a JSON object {\"ops\":[...]}");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        if (!field.equals("ops")) {
          p.skipChildren();
          continue;
        }
        if (ops != null) {
          throw BadRequest.of("duplicate_field", "\"ops\" appears twice");
        }
        if (t != JsonToken.START_ARRAY) {
          throw BadRequest.of("invalid_body", "ops must be an array of op objects");
        }
        ops = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          if (ops.size() == maxOps) {
            throw new BadRequest(413, "too_many_ops", "a batch holds at most BATCH_MAX=" + maxOps + " ops");
          }
          try {
            ops.add(readOp(p, bytes, maxValueBytes));
          } catch (BadRequest e) {
            throw new BadRequest(e.status(), e.code(), "op " + ops.size() + ": " + e.getMessage());
          }
        }
      }
      if (p.nextToken() != null) {
        throw BadRequest.of("invalid_json", "unexpected data after the JSON object");
      }
    } catch (IOException e) {
      throw BadRequest.of("invalid_json", "malformed JSON: " + RecordJson.firstLine(e.getMessage()));
    }
    if (ops == null || ops.isEmpty()) {
      throw BadRequest.of("missing_ops", "ops is required and must hold at least one op");
    }
    return new BatchOps(ops);
  }

  private static Op readOp(JsonParser p, byte[] bytes, int maxValueBytes) throws IOException, BadRequest {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw BadRequest.of("invalid_op", "each op must be an object");
    }
    String op = null;
    String key = null;
    String value = null;
    long ttl = 0;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken t = p.nextToken();
      switch (field) {
        case "op" -> {
          if (t != JsonToken.VALUE_STRING || op != null) {
            throw BadRequest.of("invalid_op", "op must be given once, as \"set\" or \"delete\"");
          }
          op = p.getText();
        }
        case "key" -> {
          if (t != JsonToken.VALUE_STRING || key != null) {
            throw BadRequest.of("invalid_key", "key must be given once, as a string");
          }
          key = p.getText();
        }
        case "value" -> {
          if (value != null) {
            throw BadRequest.of("duplicate_field", "\"value\" appears twice");
          }
          value = RecordFields.readValue(p, bytes, maxValueBytes);
        }
        case "ttl" -> ttl = RecordFields.readTtl(p, t);
        default -> p.skipChildren();
      }
    }
    RecordFields.validateKey(key);
    if ("set".equals(op)) {
      if (value == null) {
        throw BadRequest.of("missing_value", "a set needs a value (any JSON value, null included)");
      }
      return new Op(false, key, value, ttl);
    }
    if ("delete".equals(op)) {
      if (value != null || ttl != 0) {
        throw BadRequest.of("invalid_op", "a delete takes no value or ttl");
      }
      return new Op(true, key, null, 0);
    }
    throw BadRequest.of("invalid_op", "op must be \"set\" or \"delete\"");
  }
}
