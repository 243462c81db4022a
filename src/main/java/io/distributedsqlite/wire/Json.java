package io.distributedsqlite.wire;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Streaming JSON helpers shared by the client API and the internal wire format. Values are never
 * re-encoded: {@link #rawValue} slices the value's exact bytes out of the request, and responses
 * splice stored JSON text in verbatim, so a value reads back as SQLite stored it.
 */
public final class Json {
  /** Well under SQLite's own JSON depth limit (1000), so everything we accept SQLite accepts too. */
  public static final int MAX_DEPTH = 500;

  static final JsonFactory FACTORY = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
      .build();

  private Json() {}

  /**
   * Refuses bytes that are not well-formed UTF-8 (overlong forms, encoded surrogates, truncated
   * sequences), which Jackson would let through or SQLite would store mangled.
   */
  public static void requireUtf8(byte[] bytes) throws BadRequest {
    try {
      StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes));
    } catch (CharacterCodingException e) {
      throw BadRequest.of("invalid_utf8", "the body is not valid UTF-8");
    }
  }

  public static JsonParser parser(byte[] bytes) throws IOException {
    return FACTORY.createParser(bytes, 0, bytes.length);
  }

  /**
   * The exact text of the value at the parser's current token (any JSON value), validated by
   * walking it; leaves the parser on the value's last token.
   */
  public static String rawValue(JsonParser p, byte[] bytes) throws IOException {
    int start = (int) p.currentTokenLocation().getByteOffset();
    JsonToken t = p.currentToken();
    if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
      p.skipChildren();
    } else if (t == JsonToken.VALUE_STRING) {
      p.finishToken(); // strings are read lazily; this moves the location past the closing quote
    }
    int end = (int) p.currentLocation().getByteOffset();
    return new String(bytes, start, end - start, StandardCharsets.UTF_8);
  }

  /** Appends {@code s} as a JSON string literal. */
  /** {@code "node_id":"<NODE_ID as configured>"}: the name as a JSON string, as the original's clients decode it. */
  public static String nodeIdField(String nodeName) {
    return quote(new StringBuilder("\"node_id\":"), nodeName).toString();
  }

  public static StringBuilder quote(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"');
  }

  /** True when the string holds a lone UTF-16 surrogate, which has no UTF-8 form. */
  public static boolean hasLoneSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return true;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  public static int utf8Length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }
}
