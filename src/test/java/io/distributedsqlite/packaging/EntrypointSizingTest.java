package io.distributedsqlite.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.distributedsqlite.config.MemoryBudget;
import io.fabric8.kubernetes.api.model.Quantity;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image's entrypoint (src/main/docker/entrypoint.sh), run for real with each memory limit the
 * manifests set, gives the JVM a heap that leaves room in the limit for what is not heap: the
 * JVM's own native memory, Netty's buffers and SQLite, as measured at 128 MiB (BENCHMARKS.md,
 * "Memory": peak resident 97 MiB with 21 MiB of heap in use, so 76 MiB outside the heap), plus
 * SQLite's page caches as the node sizes them for that limit. The script reads the limit from a
 * cgroup directory made here and execs a stand-in {@code java} that records its arguments; the
 * real JVM then confirms it takes those flags and the heap they name.
 */
class EntrypointSizingTest {
  private static final long MIB = 1 << 20;
  /** Resident memory outside the heap at peak, measured at a 128 MiB limit. */
  private static final long NON_HEAP_MEASURED = 76 * MIB;
  private static final Path ROOT = Path.of("").toAbsolutePath();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @TempDir
  Path tmp;

  @Test
  void everyManifestLimitLeavesRoomOutsideTheHeap() throws Exception {
    Map<String, Long> limits = manifestLimits();
    assertEquals(3, limits.size(), "the StatefulSet's request and limit, the test cluster's limit: " + limits);
    for (Map.Entry<String, Long> e : limits.entrySet()) {
      long limit = e.getValue();
      List<String> args = entrypointArgs(limit);
      long heap = xmx(args);
      assertEquals(Math.max(24, limit / MIB * 3 / 4 - 48) * MIB, heap, e.getKey() + ": heap = 3/4 of the limit - 48 MiB");
      assertTrue(args.contains("-XX:+UseSerialGC") && args.contains("-XX:+ExitOnOutOfMemoryError"), e.getKey() + ": " + args);
      assertEquals(limit < 512 * MIB, args.contains("-XX:TieredStopAtLevel=1"), e.getKey() + ": C1 only below 512 MiB");
      MemoryBudget budget = new MemoryBudget(limit, heap, 2);
      long sqliteCaches = (budget.readPoolSize() + 1L) * budget.sqliteCacheKib() * 1024;
      assertTrue(heap + NON_HEAP_MEASURED + sqliteCaches <= limit,
          e.getKey() + ": heap " + heap / MIB + " MiB + measured non-heap " + NON_HEAP_MEASURED / MIB
              + " MiB + SQLite page caches " + sqliteCaches / 1024 + " KiB fit in " + limit / MIB + " MiB");
      assertEquals(heap, jvmMaxHeap(args), e.getKey() + ": the JVM takes the flags and that heap");
    }
  }

  @Test
  void withoutALimitTheHeapIsAShareOfTheMachineAndJavaOptsComeLast() throws Exception {
    Files.createDirectories(tmp.resolve("cgroup"));
    Files.writeString(tmp.resolve("cgroup/memory.max"), "max\n");
    List<String> args = run(Map.of("JAVA_OPTS", "-Xmx80m"));
    assertTrue(args.contains("-XX:MaxRAMPercentage=75"), args.toString());
    assertEquals("-Xmx80m", args.get(args.indexOf("-jar") - 1), "JAVA_OPTS right before -jar: " + args);
  }

  private Map<String, Long> manifestLimits() throws IOException {
    Map<String, Long> out = new LinkedHashMap<>();
    JsonNode sts = YAML.readTree(ROOT.resolve("kubernetes/statefulset.yaml").toFile());
    JsonNode resources = sts.at("/spec/template/spec/containers/0/resources");
    out.put("StatefulSet limit", bytes(resources.at("/limits/memory").asText()));
    out.put("StatefulSet request", bytes(resources.at("/requests/memory").asText()));
    JsonNode component = YAML.readTree(ROOT.resolve("kubernetes/components/test-cluster/kustomization.yaml").toFile());
    for (JsonNode patch : component.path("patches")) {
      for (JsonNode op : YAML.readTree(patch.path("patch").asText())) {
        if (op.path("path").asText().endsWith("/resources")) {
          out.put("test-cluster limit", bytes(op.at("/value/limits/memory").asText()));
        }
      }
    }
    return out;
  }

  private static long bytes(String quantity) {
    return Quantity.getAmountInBytes(new Quantity(quantity)).longValueExact();
  }

  private List<String> entrypointArgs(long limitBytes) throws Exception {
    Path cgroup = Files.createDirectories(tmp.resolve("cgroup"));
    Files.writeString(cgroup.resolve("memory.max"), limitBytes + "\n");
    return run(Map.of());
  }

  /** Runs the entrypoint with the stand-in java first on PATH; returns the arguments java got. */
  private List<String> run(Map<String, String> extraEnv) throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path argsFile = tmp.resolve("java-args");
    Path java = bin.resolve("java");
    Files.writeString(java, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" + argsFile + "'\n");
    java.toFile().setExecutable(true);
    ProcessBuilder pb = new ProcessBuilder("sh", ROOT.resolve("src/main/docker/entrypoint.sh").toString())
        .redirectErrorStream(true).redirectOutput(tmp.resolve("out").toFile());
    pb.environment().remove("JAVA_OPTS");
    pb.environment().remove("DSQLITE_JVM_SIZING");
    pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    pb.environment().put("DSQLITE_CGROUP_DIR", tmp.resolve("cgroup").toString());
    pb.environment().putAll(extraEnv);
    Process p = pb.start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "entrypoint finished");
    assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("out")));
    List<String> args = Files.readAllLines(argsFile, StandardCharsets.UTF_8);
    assertEquals("/app/distributed-sqlite.jar", args.get(args.size() - 1), args.toString());
    return args;
  }

  private static long xmx(List<String> args) {
    return args.stream().filter(a -> a.startsWith("-Xmx")).reduce((a, b) -> b)
        .map(a -> Long.parseLong(a.substring(4, a.length() - 1)) * MIB)
        .orElseThrow(() -> new AssertionError("no -Xmx in " + args));
  }

  /** The real JVM's MaxHeapSize given the entrypoint's flags (without -jar). */
  private static long jvmMaxHeap(List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(args.subList(0, args.indexOf("-jar")));
    cmd.addAll(Arrays.asList("-XX:+PrintFlagsFinal", "-version"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    Matcher m = Pattern.compile("(?m)^\\s*size_t MaxHeapSize\\s*=\\s*(\\d+)").matcher(out);
    assertTrue(m.find(), out);
    return Long.parseLong(m.group(1));
  }
}
