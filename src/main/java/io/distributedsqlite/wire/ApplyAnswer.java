package io.distributedsqlite.wire;

import io.distributedsqlite.storage.ApplyResult;
import io.distributedsqlite.storage.Version;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The wire form of an {@link ApplyResult}, the answer of {@code /internal/apply}:
 * {@code {"status":"applied","applied":<n>,"node_id":…}} plus, only when some record was not
 * applied, {@code "superseded":{"<index>":"<winning version>",…}} and {@code "refused":[<index>,…]}
 * (indexes into the records sent). An answer without them means every record was applied, which
 * is also what a node that predates them answers.
 */
public final class ApplyAnswer {
  private ApplyAnswer() {}

  /** {@code nodeIdField} is the answer's {@code "node_id":…} member, as {@link Json#nodeIdField} writes it. */
  public static String encode(ApplyResult result, String nodeIdField) {
    StringBuilder sb = new StringBuilder(64);
    sb.append("{\"status\":\"applied\",\"applied\":").append(result.count(ApplyResult.Kind.APPLIED))
        .append(',').append(nodeIdField);
    if (result.count(ApplyResult.Kind.APPLIED) < result.size()) {
      JsonObject superseded = new JsonObject();
      JsonArray refused = new JsonArray();
      for (int i = 0; i < result.size(); i++) {
        ApplyResult.Outcome o = result.get(i);
        if (o.kind() == ApplyResult.Kind.SUPERSEDED) {
          superseded.put(Integer.toString(i), o.winner().toString());
        } else if (o.kind() == ApplyResult.Kind.REFUSED_FUTURE) {
          refused.add(i);
        }
      }
      sb.append(",\"superseded\":").append(superseded.encode()).append(",\"refused\":").append(refused.encode());
    }
    return sb.append('}').toString();
  }

  /** Decodes an answer for {@code records} records sent; throws IllegalArgumentException on a malformed one. */
  public static ApplyResult decode(byte[] body, int records) {
    if (body == null || indexOf(body, "\"superseded\"") < 0 && indexOf(body, "\"refused\"") < 0) {
      return ApplyResult.allApplied(records);
    }
    try {
      JsonObject json = new JsonObject(io.vertx.core.buffer.Buffer.buffer(body));
      List<ApplyResult.Outcome> out = new ArrayList<>(java.util.Collections.nCopies(records, ApplyResult.Outcome.APPLIED));
      JsonObject superseded = json.getJsonObject("superseded", new JsonObject());
      for (String k : superseded.fieldNames()) {
        out.set(Integer.parseInt(k), ApplyResult.Outcome.supersededBy(Version.parse(superseded.getString(k))));
      }
      for (Object i : json.getJsonArray("refused", new JsonArray())) {
        out.set(((Number) i).intValue(), ApplyResult.Outcome.REFUSED_FUTURE);
      }
      return new ApplyResult(out);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("unreadable /internal/apply answer: " + e.getMessage(), e);
    }
  }

  private static int indexOf(byte[] hay, String needle) {
    byte[] n = needle.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    outer:
    for (int i = 0; i + n.length <= hay.length; i++) {
      for (int j = 0; j < n.length; j++) {
        if (hay[i + j] != n[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
