package io.distributedsqlite.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Client API tokens, each read-only or read-write, from API_TOKENS ({@code token:ro,token:rw}) and
 * API_TOKENS_FILE (one {@code token ro|rw} per line, {@code #} comments). Only SHA-256 digests are
 * kept, and a presented token is looked up by its digest, so neither timing nor a heap dump gives
 * tokens away. Empty means client auth is off.
 */
public final class ApiTokens {
  public enum Access {
    READ,
    READ_WRITE
  }

  private final Map<String, Access> byDigest;

  private ApiTokens(Map<String, Access> byDigest) {
    this.byDigest = Map.copyOf(byDigest);
  }

  public static ApiTokens none() {
    return new ApiTokens(Map.of());
  }

  public boolean enabled() {
    return !byDigest.isEmpty();
  }

  public Optional<Access> access(String token) {
    return token == null ? Optional.empty() : Optional.ofNullable(byDigest.get(digest(token)));
  }

  static ApiTokens parse(String inline, String file) {
    Map<String, Access> tokens = new HashMap<>();
    if (inline != null && !inline.isBlank()) {
      for (String entry : inline.split(",")) {
        int colon = entry.lastIndexOf(':');
        if (colon <= 0) {
          throw new ConfigException("API_TOKENS entry must be <token>:ro or <token>:rw");
        }
        add(tokens, entry.substring(0, colon).trim(), entry.substring(colon + 1).trim(), "API_TOKENS");
      }
    }
    if (file != null && !file.isBlank()) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of(file.trim()), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new ConfigException("API_TOKENS_FILE=" + file + " cannot be read: " + e.getMessage());
      }
      for (String line : lines) {
        String l = line.strip();
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        String[] parts = l.split("\\s+");
        if (parts.length != 2) {
          throw new ConfigException("API_TOKENS_FILE lines must be '<token> ro|rw'");
        }
        add(tokens, parts[0], parts[1], "API_TOKENS_FILE");
      }
    }
    return new ApiTokens(tokens);
  }

  private static void add(Map<String, Access> tokens, String token, String access, String source) {
    if (token.length() < 16 || token.chars().anyMatch(c -> c <= ' ' || c > '~')) {
      throw new ConfigException(source + " tokens must be at least 16 printable ASCII characters without spaces");
    }
    Access a = switch (access) {
      case "ro" -> Access.READ;
      case "rw" -> Access.READ_WRITE;
      default -> throw new ConfigException(source + " access must be ro or rw, got '" + access + "'");
    };
    tokens.put(digest(token), a);
  }

  static String digest(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
