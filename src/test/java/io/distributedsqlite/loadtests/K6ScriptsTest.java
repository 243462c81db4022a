package io.distributedsqlite.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The k6 scripts in {@code load-tests/} are code users run against real clusters, but k6 is not
 * installable here; node checks them instead. Each script must parse as an ES module, link and
 * evaluate with stand-ins for the k6 modules, declare scenarios, thresholds and a JSON-writing
 * handleSummary, and call only endpoints the store serves
 * ({@code load-tests/tools/check-k6.mjs}). Skipped only when {@code node} is not on PATH.
 */
class K6ScriptsTest {
  static final Set<String> ENDPOINTS =
      Set.of("/set", "/get", "/delete", "/scan", "/batch", "/health", "/ready", "/metrics", "/cluster", "/internal/get");
  static final List<String> SCRIPTS = List.of("write-heavy.js", "read-heavy.js", "mixed.js", "scan-batch.js");
  static final Path DIR = Path.of("load-tests");

  /** A path literal: after a quote or the end of a ${...}, up to a quote or a query. */
  private static final Pattern PATH_LITERAL = Pattern.compile("(?:['\"`]|\\})(/[A-Za-z_][\\w/-]*)(?=['\"`?])");

  private static String node;

  @BeforeAll
  static void findNode() {
    node = onPath("node");
    assumeTrue(node != null, "node is not on PATH; the k6 scripts are not checked");
  }

  @Test
  void everyUserFacingScriptExists() {
    for (String s : SCRIPTS) {
      assertTrue(Files.isRegularFile(DIR.resolve(s)), "missing load-tests/" + s);
    }
  }

  @Test
  void eachScriptParsesAsAnEsModule() throws Exception {
    for (Path script : scripts()) {
      Result r = run(List.of(node, "--input-type=module", "--check"), script);
      assertEquals(0, r.exit(), script + " does not parse as an ES module:\n" + r.output());
    }
  }

  @Test
  void eachScriptHasScenariosThresholdsSummaryAndOnlyKnownEndpoints() throws Exception {
    List<String> cmd = new ArrayList<>(List.of(node, "--experimental-vm-modules", "--no-warnings",
        DIR.resolve("tools/check-k6.mjs").toString()));
    for (Path script : scripts()) {
      cmd.add(script.toString());
    }
    Result r = run(cmd, null);
    assertEquals(0, r.exit(), "check-k6.mjs found problems:\n" + r.output());
    for (String s : SCRIPTS) {
      assertTrue(r.output().contains("\"file\":\"" + DIR.resolve(s) + "\",\"ok\":true"), s + " not checked ok:\n" + r.output());
    }
  }

  /** The same endpoint rule read straight from the sources, so it holds even if the checker changes. */
  @Test
  void pathLiteralsInTheSourcesAreEndpointsOfTheStore() throws IOException {
    List<Path> sources = new ArrayList<>(scripts());
    try (Stream<Path> lib = Files.list(DIR.resolve("lib"))) {
      lib.filter(p -> p.toString().endsWith(".js")).forEach(sources::add);
    }
    Set<String> unknown = new TreeSet<>();
    Set<String> seen = new TreeSet<>();
    for (Path p : sources) {
      Matcher m = PATH_LITERAL.matcher(Files.readString(p));
      while (m.find()) {
        seen.add(m.group(1));
        if (!ENDPOINTS.contains(m.group(1))) {
          unknown.add(p.getFileName() + ": " + m.group(1));
        }
      }
    }
    assertTrue(unknown.isEmpty(), "paths that are not endpoints of the store: " + unknown);
    assertTrue(seen.containsAll(Set.of("/set", "/get")), "the scripts should exercise /set and /get, saw " + seen);
  }

  private static List<Path> scripts() throws IOException {
    try (Stream<Path> files = Files.list(DIR)) {
      return files.filter(p -> p.toString().endsWith(".js")).sorted().toList();
    }
  }

  private record Result(int exit, String output) {}

  private static Result run(List<String> cmd, Path stdin) throws IOException, InterruptedException {
    Path out = Files.createTempFile("k6-check-", ".out");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
      if (stdin != null) {
        pb.redirectInput(stdin.toFile());
      }
      Process p = pb.start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(cmd + " did not finish within 60 s");
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
    }
  }

  private static String onPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    return null;
  }
}
