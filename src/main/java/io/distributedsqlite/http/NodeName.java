package io.distributedsqlite.http;

import io.distributedsqlite.config.NodeConfig;

/** The {@code node_id} every answer carries: NODE_ID as configured, always a JSON string. */
final class NodeName {
  private NodeName() {}

  static String of(NodeConfig config) {
    return String.valueOf(config.nodeId());
  }

  /** {@code "node_id":"<name>"} ready to splice into a JSON object. */
  static String field(NodeConfig config) {
    StringBuilder sb = new StringBuilder("\"node_id\":");
    Json.quote(sb, of(config));
    return sb.toString();
  }
}
