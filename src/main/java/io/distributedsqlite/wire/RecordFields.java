package io.distributedsqlite.wire;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.Record;
import io.distributedsqlite.storage.Version;
import java.io.IOException;

/**
 * The fields of one record object as clients and peers send it: {@code key}, {@code value} (any
 * JSON, kept as raw text), and optionally {@code ttl} (seconds, client writes), {@code version},
 * {@code tombstone} and {@code expires_at} (replica traffic). Unknown fields are ignored.
 */
public record RecordFields(String key, String value, boolean hasValue, long ttlSeconds, Version version,
    boolean tombstone, long expiresAt) {

  public static final long MAX_TTL_SECONDS = 100L * 365 * 24 * 3600;

  /** Reads one object; the parser must be on its START_OBJECT and is left on its END_OBJECT. */
  public static RecordFields read(JsonParser p, byte[] bytes, int maxValueBytes) throws IOException, BadRequest {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw BadRequest.of("invalid_body", "expected a JSON object");
    }
    String key = null;
    String value = null;
    boolean hasValue = false;
    long ttl = 0;
    Version version = null;
    boolean tombstone = false;
    long expiresAt = 0;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken t = p.nextToken();
      if ((field.equals("key") && key != null) || (field.equals("value") && hasValue)) {
        throw BadRequest.of("duplicate_field", "\"" + field + "\" appears twice");
      }
      switch (field) {
        case "key" -> {
          if (t != JsonToken.VALUE_STRING) {
            throw BadRequest.of("invalid_key", "key must be a string");
          }
          key = p.getText();
        }
        case "value" -> {
          value = readValue(p, bytes, maxValueBytes);
          hasValue = true;
        }
        case "ttl" -> ttl = readTtl(p, t);
        case "version" -> {
          if (t != JsonToken.VALUE_STRING) {
            throw BadRequest.of("invalid_version", "version must be a string <millis>.<counter>.<node>");
          }
          try {
            version = Version.parse(p.getText());
          } catch (IllegalArgumentException e) {
            throw BadRequest.of("invalid_version", e.getMessage());
          }
        }
        case "tombstone" -> {
          if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
            throw BadRequest.of("invalid_tombstone", "tombstone must be true or false");
          }
          tombstone = t == JsonToken.VALUE_TRUE;
        }
        case "expires_at" -> {
          if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT && p.getNumberType() != JsonParser.NumberType.LONG) {
            throw BadRequest.of("invalid_expires_at", "expires_at must be epoch milliseconds");
          }
          expiresAt = Math.max(0, p.getLongValue());
        }
        default -> p.skipChildren();
      }
    }
    validateKey(key);
    return new RecordFields(key, value, hasValue, ttl, version, tombstone, expiresAt);
  }

  /** Parses a body that is exactly one record object. */
  public static RecordFields parseSingle(byte[] bytes, int maxValueBytes) throws BadRequest {
    if (bytes.length == 0) {
      throw BadRequest.of("invalid_body", "request body is empty; expected {\"key\":...,\"value\":...}");
    }
    Json.requireUtf8(bytes);
    try (JsonParser p = Json.parser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw BadRequest.of("invalid_body", "expected a JSON object {\"key\":...,\"value\":...}");
      }
      RecordFields f = read(p, bytes, maxValueBytes);
      if (p.nextToken() != null) {
        throw BadRequest.of("invalid_json", "unexpected data after the JSON object");
      }
      return f;
    } catch (IOException e) {
      throw BadRequest.of("invalid_json", "malformed JSON: " + RecordJson.firstLine(e.getMessage()));
    }
  }

  /** The raw JSON text of the value the parser is on, refused with 413 beyond {@code maxValueBytes}. */
  public static String readValue(JsonParser p, byte[] bytes, int maxValueBytes) throws IOException, BadRequest {
    String value = Json.rawValue(p, bytes);
    if (value.length() > maxValueBytes / 3 && Json.utf8Length(value) > maxValueBytes) {
      throw new BadRequest(413, "value_too_large", "value exceeds MAX_VALUE_BYTES=" + maxValueBytes);
    }
    return value;
  }

  /** The ttl the parser is on ({@code t}, its token): a whole number of seconds within bounds. */
  public static long readTtl(JsonParser p, JsonToken t) throws IOException, BadRequest {
    if (t != JsonToken.VALUE_NUMBER_INT) {
      throw BadRequest.of("invalid_ttl", "ttl must be a whole number of seconds");
    }
    return parseTtl(p.getText());
  }

  /** A versioned record as a replica sends it; null value means tombstone. */
  public Record toReplicaRecord() throws BadRequest {
    if (version == null) {
      throw BadRequest.of("missing_version", "replica records need a version");
    }
    if (tombstone) {
      return Record.tombstone(key, version);
    }
    if (!hasValue) {
      throw BadRequest.of("missing_value", "a record that is not a tombstone needs a value");
    }
    return new Record(key, value, version, false, expiresAt);
  }

  public static long parseTtl(String text) throws BadRequest {
    try {
      long ttl = Long.parseLong(text);
      if (ttl < 1 || ttl > MAX_TTL_SECONDS) {
        throw BadRequest.of("invalid_ttl", "ttl must be between 1 and " + MAX_TTL_SECONDS + " seconds");
      }
      return ttl;
    } catch (NumberFormatException e) {
      throw BadRequest.of("invalid_ttl", "ttl must be between 1 and " + MAX_TTL_SECONDS + " seconds");
    }
  }

  public static void validateKey(String key) throws BadRequest {
    if (key == null) {
      throw BadRequest.of("missing_key", "key is required");
    }
    if (key.isEmpty()) {
      throw BadRequest.of("invalid_key", "key must not be empty");
    }
    if (Json.hasLoneSurrogate(key)) {
      throw BadRequest.of("invalid_key", "key is not valid UTF-8");
    }
    if (key.length() > NodeConfig.MAX_KEY_BYTES / 3 && Json.utf8Length(key) > NodeConfig.MAX_KEY_BYTES) {
      throw BadRequest.of("key_too_long", "key exceeds " + NodeConfig.MAX_KEY_BYTES + " bytes of UTF-8");
    }
  }
}
