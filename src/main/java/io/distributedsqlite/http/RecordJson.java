package io.distributedsqlite.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.distributedsqlite.storage.Record;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The internal wire form of records, one shape for every replica exchange and for
 * {@code GET /internal/get}: {@code {"key","value","version","tombstone","expires_at"}}, values
 * spliced in as stored JSON text.
 */
public final class RecordJson {
  private RecordJson() {}

  public static StringBuilder append(StringBuilder sb, Record r) {
    sb.append("{\"key\":");
    Json.quote(sb, r.key());
    sb.append(",\"value\":").append(r.tombstone() || r.value() == null ? "null" : r.value());
    sb.append(",\"version\":\"").append(r.version()).append('"');
    sb.append(",\"tombstone\":").append(r.tombstone());
    sb.append(",\"expires_at\":").append(r.expiresAt());
    return sb.append('}');
  }

  public static String encodeList(List<Record> records) {
    StringBuilder sb = new StringBuilder(records.size() * 128).append('[');
    for (int i = 0; i < records.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      append(sb, records.get(i));
    }
    return sb.append(']').toString();
  }

  /** Parses a JSON array of versioned records; any malformed entry rejects the whole list. */
  public static List<Record> decodeList(byte[] bytes, int maxValueBytes) throws BadRequest {
    Json.requireUtf8(bytes);
    try (JsonParser p = Json.parser(bytes)) {
      if (p.nextToken() != JsonToken.START_ARRAY) {
        throw BadRequest.of("invalid_body", "expected a JSON array of records");
      }
      List<Record> out = new ArrayList<>();
      while (p.nextToken() == JsonToken.START_OBJECT) {
        out.add(RecordFields.read(p, bytes, maxValueBytes).toReplicaRecord());
      }
      if (p.currentToken() != JsonToken.END_ARRAY || p.nextToken() != null) {
        throw BadRequest.of("invalid_body", "expected a JSON array of record objects");
      }
      return out;
    } catch (IOException e) {
      throw BadRequest.of("invalid_json", "malformed JSON: " + firstLine(e.getMessage()));
    }
  }

  static String firstLine(String s) {
    if (s == null) {
      return "unreadable input";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
