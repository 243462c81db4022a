package io.distributedsqlite.cli;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;

/**
 * {@code dsql}, the command-line client (the jar's second entry point, {@code bin/dsql}). JSON
 * answers go to stdout, messages to stderr; the exit code says what happened (see
 * {@code dsql --help}).
 */
@Command(name = "dsql", mixinStandardHelpOptions = true, version = "dsql (distributed-sqlite) 0.1",
    description = "Command-line client for a distributed-sqlite cluster. JSON on stdout, messages on stderr.",
    subcommands = {Dsql.Get.class, Dsql.Set.class, Dsql.Delete.class, Dsql.Scan.class, Dsql.Batch.class,
        Dsql.Cluster.class, Dsql.Backup.class, Dsql.Repair.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:success",
        "1:the node failed (5xx other than 503)",
        "2:usage error",
        "3:key not found",
        "4:consistency level not met (503), or some ops of a batch did not meet it (207)",
        "5:no node could be reached",
        "6:not authorised (401/403: check DSQL_TOKEN)",
        "7:input rejected by the node (400, 413, ...)"})
public final class Dsql implements Callable<Integer> {
  static final int OK = 0;
  static final int SERVER_ERROR = 1;
  static final int USAGE = 2;
  static final int NOT_FOUND = 3;
  static final int NOT_MET = 4;
  static final int UNREACHABLE = 5;
  static final int UNAUTHORISED = 6;
  static final int REJECTED = 7;

  @Option(names = "--url", split = ",", scope = ScopeType.INHERIT, paramLabel = "URL",
      description = "node URL(s), tried in turn when one cannot be reached; repeat or comma-separate "
          + "(default: $DSQL_URL, else http://127.0.0.1:8080)")
  List<String> urls;

  @Option(names = "--token", scope = ScopeType.INHERIT, description = "API token (default: $DSQL_TOKEN)")
  String token;

  @Option(names = "--cacert", scope = ScopeType.INHERIT, paramLabel = "PEM",
      description = "trust the CA certificate(s) in this PEM file for https URLs (default: $DSQL_CACERT)")
  Path caFile;

  @Option(names = "--insecure", scope = ScopeType.INHERIT, description = "accept any server certificate (testing only)")
  boolean insecure;

  @Option(names = "--timeout", scope = ScopeType.INHERIT, defaultValue = "30", paramLabel = "SECONDS",
      description = "per-request timeout (default: ${DEFAULT-VALUE})")
  int timeoutSeconds;

  private final Map<String, String> env;
  private final InputStream stdin;
  private PrintStream out;
  private PrintStream err;

  Dsql(Map<String, String> env, InputStream stdin, PrintStream out, PrintStream err) {
    this.env = env;
    this.stdin = stdin;
    this.out = out;
    this.err = err;
  }

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), System.in, System.out, System.err));
  }

  static int run(String[] args, Map<String, String> env, InputStream stdin, PrintStream out, PrintStream err) {
    CommandLine cli = new CommandLine(new Dsql(env, stdin, out, err));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      err.println("dsql: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
      return SERVER_ERROR;
    });
    return cli.execute(args);
  }

  @Override
  public Integer call() {
    err.println("dsql: give a command (get, set, delete, scan, batch, cluster, backup, repair); see dsql --help");
    return USAGE;
  }

  Endpoints endpoints() throws Exception {
    List<String> list = urls;
    if (list == null || list.isEmpty()) {
      String fromEnv = env.get("DSQL_URL");
      list = fromEnv == null || fromEnv.isBlank() ? List.of("http://127.0.0.1:8080")
          : Arrays.stream(fromEnv.split("[,\\s]+")).filter(s -> !s.isEmpty()).toList();
    }
    String t = token != null ? token : env.get("DSQL_TOKEN");
    Path ca = caFile != null ? caFile : env.get("DSQL_CACERT") == null ? null : Path.of(env.get("DSQL_CACERT"));
    return new Endpoints(list, t, Duration.ofSeconds(Math.max(1, timeoutSeconds)), ca, insecure);
  }

  /** Prints a 2xx body to stdout, or the node's error to stderr; the exit code for the status. */
  int answer(HttpResponse<String> res) {
    int s = res.statusCode();
    if (s >= 200 && s < 300) {
      out.println(res.body());
      return s == 207 ? NOT_MET : OK;
    }
    String code = "http_" + s;
    String message = res.body();
    try {
      JsonObject e = new JsonObject(res.body());
      code = e.getString("error", code);
      message = e.getString("message", message);
    } catch (DecodeException | ClassCastException ignored) {
      // not the node's JSON error shape: show the body as it is
    }
    err.println("dsql: " + code + ": " + message);
    return exitCode(s);
  }

  static int exitCode(int status) {
    if (status == 404) {
      return NOT_FOUND;
    }
    if (status == 401 || status == 403) {
      return UNAUTHORISED;
    }
    if (status == 503 || status == 207) {
      return NOT_MET;
    }
    if (status >= 400 && status < 500) {
      return REJECTED;
    }
    return SERVER_ERROR;
  }

  /** Runs one request-answer command, mapping an unreachable cluster to its exit code. */
  int call(String method, String pathAndQuery, String body) throws Exception {
    try {
      return answer(endpoints().send(method, pathAndQuery, body));
    } catch (Endpoints.Unreachable e) {
      err.println("dsql: " + e.getMessage());
      return UNREACHABLE;
    }
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  static String level(String name, String value) {
    return value == null ? "" : "&" + name + "=" + enc(value);
  }

  /** A progress line on stderr, rewritten in place on a terminal. */
  void progress(String line) {
    if (System.console() != null && err == System.err) {
      err.print("\r" + line);
    } else {
      err.println(line);
    }
  }

  void progressDone() {
    if (System.console() != null && err == System.err) {
      err.println();
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Read a key: the node's JSON answer on stdout.")
  static final class Get implements Callable<Integer> {
    @ParentCommand Dsql dsql;
    @Parameters(paramLabel = "KEY") String key;
    @Option(names = {"-r", "--read"}, description = "read consistency: one, quorum, all") String r;

    @Override
    public Integer call() throws Exception {
      return dsql.call("GET", "/get?key=" + enc(key) + level("r", r), null);
    }
  }

  @Command(name = "set", mixinStandardHelpOptions = true,
      description = "Write a key. VALUE is JSON (e.g. '{\"a\":1}', '\"text\"', 42); without VALUE, or with -, it is read from stdin.")
  static final class Set implements Callable<Integer> {
    @ParentCommand Dsql dsql;
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1", arity = "0..1", paramLabel = "VALUE") String value;
    @Option(names = {"-w", "--write"}, description = "write consistency: one, quorum, all") String w;
    @Option(names = "--ttl", paramLabel = "SECONDS", description = "expire the key after this many seconds") Long ttl;
    @Option(names = "--string", description = "send VALUE as a JSON string instead of parsing it as JSON") boolean string;

    @Override
    public Integer call() throws Exception {
      String v = value == null || value.equals("-") ? new String(dsql.stdin.readAllBytes(), StandardCharsets.UTF_8).strip() : value;
      String json = string ? io.vertx.core.json.Json.encode(v) : v;
      String body = "{\"key\":" + io.vertx.core.json.Json.encode(key) + ",\"value\":" + json + "}";
      return dsql.call("POST", "/set?" + (w == null ? "" : "w=" + enc(w)) + (ttl == null ? "" : "&ttl=" + ttl), body);
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a key.")
  static final class Delete implements Callable<Integer> {
    @ParentCommand Dsql dsql;
    @Parameters(paramLabel = "KEY") String key;
    @Option(names = {"-w", "--write"}, description = "write consistency: one, quorum, all") String w;

    @Override
    public Integer call() throws Exception {
      return dsql.call("DELETE", "/delete?key=" + enc(key) + level("w", w), null);
    }
  }

  @Command(name = "scan", mixinStandardHelpOptions = true,
      description = "List keys in key order, one JSON object per line ({\"key\",\"value\",\"version\"}), following every page.")
  static final class Scan implements Callable<Integer> {
    @ParentCommand Dsql dsql;
    @Option(names = "--prefix", description = "keys that start with this") String prefix;
    @Option(names = "--start", description = "first key of a range (inclusive)") String start;
    @Option(names = "--end", description = "end of a range (exclusive)") String end;
    @Option(names = "--keys-only", description = "leave values out") boolean keysOnly;
    @Option(names = {"-r", "--read"}, description = "read consistency: one, quorum, all") String r;
    @Option(names = "--page-size", defaultValue = "500", description = "keys per request (default: ${DEFAULT-VALUE})") int pageSize;
    @Option(names = "--max", description = "stop after this many keys") Long max;

    @Override
    public Integer call() throws Exception {
      StringBuilder base = new StringBuilder("/scan?limit=").append(pageSize);
      if (prefix != null) {
        base.append("&prefix=").append(enc(prefix));
      }
      if (start != null) {
        base.append("&start=").append(enc(start));
      }
      if (end != null) {
        base.append("&end=").append(enc(end));
      }
      if (keysOnly) {
        base.append("&values=false");
      }
      base.append(level("r", r));
      Endpoints nodes = dsql.endpoints();
      String cursor = null;
      long n = 0;
      int pages = 0;
      do {
        HttpResponse<String> res;
        try {
          res = nodes.send("GET", base + (cursor == null ? "" : "&cursor=" + enc(cursor)), null);
        } catch (Endpoints.Unreachable e) {
          dsql.err.println("dsql: " + e.getMessage() + " after " + n + " keys");
          return UNREACHABLE;
        }
        if (res.statusCode() != 200) {
          int code = dsql.answer(res);
          dsql.err.println("dsql: scan stopped after " + n + " keys");
          return code;
        }
        JsonObject page = new JsonObject(res.body());
        for (Object item : page.getJsonArray("items")) {
          if (max != null && n >= max) {
            return OK;
          }
          dsql.out.println(((JsonObject) item).encode());
          n++;
        }
        cursor = page.getString("cursor");
        if (++pages % 20 == 0) {
          dsql.progress("dsql: scanned " + n + " keys ...");
        }
      } while (cursor != null && (max == null || n < max));
      if (pages >= 20) {
        dsql.progressDone();
      }
      dsql.err.println("dsql: " + n + " keys");
      return OK;
    }
  }

  @Command(name = "batch", mixinStandardHelpOptions = true,
      description = "Write many keys: JSON lines, one op each ({\"op\":\"set\",\"key\",\"value\",\"ttl\"?} or {\"op\":\"delete\",\"key\"}), "
          + "from FILE or stdin, sent in batches. Prints a summary and every op that did not meet the level.")
  static final class Batch implements Callable<Integer> {
    @ParentCommand Dsql dsql;
    @Parameters(arity = "0..1", paramLabel = "FILE", description = "JSON lines (default or -: stdin)") String file;
    @Option(names = {"-w", "--write"}, description = "write consistency: one, quorum, all") String w;
    @Option(names = "--chunk", defaultValue = "500", description = "ops per request, at most the nodes' BATCH_MAX (default: ${DEFAULT-VALUE})") int chunk;

    @Override
    public Integer call() throws Exception {
      InputStream in = file == null || file.equals("-") ? dsql.stdin : Files.newInputStream(Path.of(file));
      Endpoints nodes = dsql.endpoints();
      long sent = 0;
      long met = 0;
      JsonArray failed = new JsonArray();
      List<String> ops = new ArrayList<>();
      int firstLine = 1;
      int lineNo = 0;
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while (true) {
          line = reader.readLine();
          if (line != null) {
            lineNo++;
            if (line.isBlank()) {
              continue;
            }
            try {
              new JsonObject(line);
            } catch (DecodeException | ClassCastException e) {
              dsql.err.println("dsql: line " + lineNo + " is not a JSON object; nothing after line " + (firstLine - 1) + " was sent");
              return REJECTED;
            }
            if (ops.isEmpty()) {
              firstLine = lineNo;
            }
            ops.add(line);
          }
          if (!ops.isEmpty() && (ops.size() >= chunk || line == null)) {
            HttpResponse<String> res;
            try {
              res = nodes.send("POST", "/batch" + (w == null ? "" : "?w=" + enc(w)), "{\"ops\":[" + String.join(",", ops) + "]}");
            } catch (Endpoints.Unreachable e) {
              dsql.err.println("dsql: " + e.getMessage() + "; ops from line " + firstLine + " on were not sent");
              return UNREACHABLE;
            }
            if (res.statusCode() != 200 && res.statusCode() != 207) {
              int code = dsql.answer(res);
              dsql.err.println("dsql: the batch starting at line " + firstLine + " was refused (op n is line " + firstLine + "+n); "
                  + sent + " ops before it were sent");
              return code;
            }
            JsonObject body = new JsonObject(res.body());
            sent += ops.size();
            met += body.getLong("met");
            for (Object o : body.getJsonArray("results")) {
              JsonObject r = (JsonObject) o;
              if ("failed".equals(r.getString("status"))) {
                failed.add(r);
              }
            }
            ops.clear();
            dsql.progress("dsql: " + sent + " ops sent, " + met + " met the level ...");
          }
          if (line == null) {
            break;
          }
        }
      }
      dsql.progressDone();
      dsql.out.println(new JsonObject().put("ops", sent).put("met", met).put("failed", failed).encode());
      return met == sent ? OK : NOT_MET;
    }
  }

  @Command(name = "cluster", mixinStandardHelpOptions = true, description = "The cluster view of the first node that answers.")
  static final class Cluster implements Callable<Integer> {
    @ParentCommand Dsql dsql;

    @Override
    public Integer call() throws Exception {
      return dsql.call("GET", "/cluster", null);
    }
  }

  @Command(name = "backup", mixinStandardHelpOptions = true,
      description = "Take an online backup of the node (into its BACKUP_DIR); --list its backups; --download one.")
  static final class Backup implements Callable<Integer> {
    @ParentCommand Dsql dsql;
    @Option(names = "--list", description = "list the node's backups") boolean list;
    @Option(names = "--download", paramLabel = "NAME", description = "download the backup NAME") String download;
    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "where --download writes (default: NAME)") Path output;

    @Override
    public Integer call() throws Exception {
      if (list && download != null) {
        dsql.err.println("dsql: give --list or --download, not both");
        return USAGE;
      }
      if (list) {
        return dsql.call("GET", "/admin/backups", null);
      }
      if (download != null) {
        Path target = output != null ? output : Path.of(download);
        Path partial = target.resolveSibling(target.getFileName() + ".partial");
        HttpResponse<Path> res;
        try {
          res = dsql.endpoints().send("GET", "/admin/backups/" + enc(download), null, HttpResponse.BodyHandlers.ofFile(partial));
        } catch (Endpoints.Unreachable e) {
          dsql.err.println("dsql: " + e.getMessage());
          return UNREACHABLE;
        }
        if (res.statusCode() != 200) {
          String body = Files.readString(partial);
          Files.deleteIfExists(partial);
          dsql.err.println("dsql: download of " + download + " failed: " + res.statusCode() + " " + body);
          return exitCode(res.statusCode());
        }
        Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
        dsql.out.println(new JsonObject().put("file", target.toString()).put("bytes", Files.size(target)).encode());
        return OK;
      }
      dsql.err.println("dsql: taking a backup ...");
      return dsql.call("POST", "/admin/backup", "");
    }
  }

  @Command(name = "repair", mixinStandardHelpOptions = true,
      description = "Run an anti-entropy round between the node and every peer now, and print what it did; a round "
          + "longer than --timeout goes on in the background and its progress is printed instead.")
  static final class Repair implements Callable<Integer> {
    @ParentCommand Dsql dsql;

    @Override
    public Integer call() throws Exception {
      dsql.err.println("dsql: repairing (this can take a while) ...");
      // The node answers 200 with the report once the round completed, or 202 with its progress
      // when it did not within the wait; a few seconds are left for the answer to arrive.
      int waitSeconds = Math.max(1, Math.min(600, dsql.timeoutSeconds - 3));
      return dsql.call("POST", "/admin/repair?wait=" + waitSeconds + "s", "");
    }
  }
}
