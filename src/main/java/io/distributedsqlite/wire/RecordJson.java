package io.distributedsqlite.wire;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.distributedsqlite.storage.BucketPosition;
import io.distributedsqlite.storage.Record;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The internal wire form of records, one shape for every replica exchange and for
 * {@code GET /internal/get}: {@code {"key","value","version","tombstone","expires_at"}}, values
 * spliced in as stored JSON text. A byte-bounded answer is a {@link RecordPage}:
 * {@code {"records":[...],"unserved":[keys left out],"next":{"bucket","key"}|null}}.
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

  /** Wire bytes of a record besides its key and value: field names, version, flags, a comma. */
  static final int FIXED_BYTES = 128;

  /** The bytes {@link #append} writes for {@code r} (at most; exact but for the version's digits), for byte-bounded batches. */
  public static int wireBytes(Record r) {
    return FIXED_BYTES + quotedBytes(r.key()) + (r.tombstone() || r.value() == null ? 4 : Json.utf8Length(r.value()));
  }

  private static int quotedBytes(String s) {
    int n = 2;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
        n += 2;
      } else if (c < 0x20) {
        n += 6;
      } else if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else {
        n += 3; // a surrogate pair is 4 bytes, counted as 3 + 3
      }
    }
    return n;
  }

  /** A byte-bounded answer: the records that fit, the asked keys left out, and where a listing goes on. */
  public static String encodePage(List<Record> records, List<String> unserved, BucketPosition next) {
    StringBuilder sb = new StringBuilder(128 + records.size() * 128).append("{\"records\":[");
    for (int i = 0; i < records.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      append(sb, records.get(i));
    }
    sb.append("],\"unserved\":[");
    for (int i = 0; i < unserved.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      Json.quote(sb, unserved.get(i));
    }
    sb.append("],\"next\":");
    if (next == null) {
      sb.append("null");
    } else {
      sb.append("{\"bucket\":").append(next.bucket()).append(",\"key\":");
      Json.quote(sb, next.key()).append('}');
    }
    return sb.append('}').toString();
  }

  /**
   * Parses a {@link #encodePage page}, or a plain JSON array of records (a node that answers
   * whole, without paging: then nothing was left out).
   */
  public static RecordPage decodePage(byte[] bytes) throws BadRequest {
    Json.requireUtf8(bytes);
    try (JsonParser p = Json.parser(bytes)) {
      JsonToken first = p.nextToken();
      if (first == JsonToken.START_ARRAY) {
        List<Record> records = readRecords(p, bytes);
        if (p.nextToken() != null) {
          throw BadRequest.of("invalid_body", "trailing data after the records");
        }
        return new RecordPage(records, List.of(), null);
      }
      if (first != JsonToken.START_OBJECT) {
        throw BadRequest.of("invalid_body", "expected a page of records");
      }
      List<Record> records = List.of();
      List<String> unserved = new ArrayList<>();
      BucketPosition next = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        switch (field) {
          case "records" -> {
            if (t != JsonToken.START_ARRAY) {
              throw BadRequest.of("invalid_body", "records must be an array");
            }
            records = readRecords(p, bytes);
          }
          case "unserved" -> {
            if (t != JsonToken.START_ARRAY) {
              throw BadRequest.of("invalid_body", "unserved must be an array of keys");
            }
            while (p.nextToken() == JsonToken.VALUE_STRING) {
              unserved.add(p.getText());
            }
            if (p.currentToken() != JsonToken.END_ARRAY) {
              throw BadRequest.of("invalid_body", "unserved must be an array of keys");
            }
          }
          case "next" -> next = t == JsonToken.VALUE_NULL ? null : readPosition(p);
          default -> p.skipChildren();
        }
      }
      return new RecordPage(records, unserved, next);
    } catch (IOException e) {
      throw BadRequest.of("invalid_json", "malformed JSON: " + firstLine(e.getMessage()));
    }
  }

  private static List<Record> readRecords(JsonParser p, byte[] bytes) throws IOException, BadRequest {
    List<Record> out = new ArrayList<>();
    while (p.nextToken() == JsonToken.START_OBJECT) {
      out.add(RecordFields.read(p, bytes, Integer.MAX_VALUE).toReplicaRecord());
    }
    if (p.currentToken() != JsonToken.END_ARRAY) {
      throw BadRequest.of("invalid_body", "expected an array of record objects");
    }
    return out;
  }

  private static BucketPosition readPosition(JsonParser p) throws IOException, BadRequest {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw BadRequest.of("invalid_body", "next must be {\"bucket\",\"key\"} or null");
    }
    int bucket = -1;
    String key = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken t = p.nextToken();
      if (field.equals("bucket") && t == JsonToken.VALUE_NUMBER_INT) {
        bucket = p.getIntValue();
      } else if (field.equals("key") && t == JsonToken.VALUE_STRING) {
        key = p.getText();
      } else {
        p.skipChildren();
      }
    }
    if (bucket < 0 || key == null) {
      throw BadRequest.of("invalid_body", "next must be {\"bucket\",\"key\"} or null");
    }
    return new BucketPosition(bucket, key);
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

  public static String firstLine(String s) {
    if (s == null) {
      return "unreadable input";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
