package io.distributedsqlite.faults;

import io.distributedsqlite.support.Await;
import io.distributedsqlite.support.ClusterHttp;
import io.distributedsqlite.support.ClusterHttp.Response;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded client load on its own threads that remembers every acknowledged write and checks
 * every read against it. Writers send {@code w=quorum} writes of fresh keys, overwrites and
 * deletes; each key has one writer, so its operations are numbered in the order they were sent
 * (the value is {@code {"s":<number>}}). Readers send {@code r=quorum} reads of keys with an
 * acknowledged write to a random node and classify the answer against what was acknowledged
 * before the read was sent and what was sent before it came back:
 * <ul>
 *   <li>ok: the last acknowledged value or a newer one already sent; 404 after an acknowledged
 *       delete, or when a newer delete was already sent;</li>
 *   <li>failed: any other status (no answer, 503, 500...);</li>
 *   <li>lost: 404 where a value was acknowledged and no newer delete was sent;</li>
 *   <li>stale: a value older than the last acknowledged one;</li>
 *   <li>resurrected: a value older than an acknowledged delete.</li>
 * </ul>
 * Requests go to the nodes in {@link #serveFrom}, which the test changes as nodes join and leave,
 * like a Service that routes to ready pods. Every loop stops at {@link #stop}, after a maximum
 * number of operations, or at a deadline.
 */
final class CheckedLoad implements AutoCloseable {
  private static final int MAX_OPS_PER_THREAD = 200_000;
  private static final int MAX_PROBLEMS_KEPT = 20;

  /** The last acknowledged operation on a key: value number {@code seq}, or a delete. */
  record Ack(int seq, boolean delete, String version, String phase) {}

  /** One key, written by one writer thread only. */
  static final class Key {
    final String name;
    volatile Ack acked;
    /** The number of the last operation sent, and of the last delete sent (0: none). */
    volatile int sent;
    volatile int sentDelete;

    Key(String name) {
      this.name = name;
    }
  }

  private final ClusterHttp http = new ClusterHttp();
  private final int writers;
  private final int readers;
  private final Duration pause;
  private final long deadline;
  private final AtomicBoolean stop = new AtomicBoolean();
  private final Map<String, Key> keys = new ConcurrentHashMap<>();
  /** Keys with an acknowledged write, the ones readers ask for. */
  private final List<Key> readable = new ArrayList<>();
  private final List<List<Key>> owned = new ArrayList<>();
  private volatile List<String> targets;
  private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
  private volatile String phase = "start";
  private ExecutorService threads;

  final AtomicLong writesAcked = new AtomicLong();
  final AtomicLong deletesAcked = new AtomicLong();
  final AtomicLong writesRefused = new AtomicLong();
  final AtomicLong reads = new AtomicLong();
  final AtomicLong failed = new AtomicLong();
  final AtomicLong lost = new AtomicLong();
  final AtomicLong stale = new AtomicLong();
  final AtomicLong resurrected = new AtomicLong();
  /** The first problems seen (reads that were not ok, refused writes), with the time and phase. */
  final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
  private final AtomicInteger problemCount = new AtomicInteger();

  /**
   * {@code preloaded}: keys already written (value number 0) with their acknowledged versions;
   * those in {@code touchable} are shared out among the writers, who may overwrite and delete
   * them; the others are only read.
   */
  CheckedLoad(int writers, int readers, Duration pause, Duration maxDuration, Map<String, String> preloaded,
      Collection<String> touchable, List<String> targets) {
    this.writers = writers;
    this.readers = readers;
    this.pause = pause;
    this.deadline = System.nanoTime() + maxDuration.toNanos();
    serveFrom(targets);
    for (int t = 0; t < writers; t++) {
      owned.add(new ArrayList<>());
    }
    int i = 0;
    for (Map.Entry<String, String> e : preloaded.entrySet()) {
      Key k = new Key(e.getKey());
      k.acked = new Ack(0, false, e.getValue(), "preload");
      keys.put(k.name, k);
      readable.add(k);
      if (touchable.contains(k.name)) {
        owned.get(i++ % writers).add(k);
      }
    }
  }

  void start() {
    threads = Executors.newFixedThreadPool(writers + readers, r -> {
      Thread t = new Thread(r, "checked-load");
      t.setDaemon(true);
      return t;
    });
    for (int t = 0; t < writers; t++) {
      int writer = t;
      threads.submit(() -> write(writer));
    }
    for (int t = 0; t < readers; t++) {
      int reader = t;
      threads.submit(() -> read(reader));
    }
  }

  /** The name of what the cluster is going through, kept with each acknowledgement and problem. */
  void phase(String name) {
    phase = name;
  }

  /** The nodes requests go to from now on. */
  synchronized void serveFrom(List<String> bases) {
    targets = List.copyOf(bases);
  }

  /** Sends no more requests to {@code base} and waits (bounded) until those under way have their answer. */
  void retire(String base) {
    synchronized (this) {
      List<String> rest = new ArrayList<>(targets);
      rest.remove(base);
      targets = List.copyOf(rest);
    }
    AtomicInteger n = inFlight.get(base);
    Await.until("requests to " + base + " answered", Duration.ofSeconds(15), () -> n == null || n.get() == 0);
  }

  /** Stops every thread and waits for them (bounded). */
  @Override
  public void close() {
    stop.set(true);
    if (threads != null) {
      threads.shutdown();
      try {
        if (!threads.awaitTermination(30, TimeUnit.SECONDS)) {
          threads.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        threads.shutdownNow();
      }
    }
  }

  /** Every key with its last acknowledged operation; call after {@link #close()}. */
  Collection<Key> keys() {
    return keys.values();
  }

  long readsOk() {
    return reads.get() - failed.get() - lost.get() - stale.get() - resurrected.get();
  }

  private boolean running() {
    return !stop.get() && System.nanoTime() < deadline;
  }

  private void write(int writer) {
    Random rnd = new Random(writer);
    List<Key> own = owned.get(writer);
    int fresh = 0;
    for (int op = 0; op < MAX_OPS_PER_THREAD && running(); op++) {
      double x = rnd.nextDouble();
      Key k;
      boolean delete = false;
      if (x < 0.35 || own.isEmpty()) {
        k = new Key("fresh-" + writer + "-" + fresh++);
        keys.put(k.name, k);
        own.add(k);
      } else {
        k = own.get(rnd.nextInt(own.size()));
        delete = x > 0.85;
      }
      int seq = k.sent + 1;
      boolean del = delete;
      if (del) {
        k.sentDelete = seq;
      }
      k.sent = seq;
      String phaseSent = phase;
      String base = acquire(rnd);
      Response r = send(base, () -> del ? http.remove(base, k.name, "quorum") : http.set(base, k.name, "{\"s\":" + seq + "}", "quorum"));
      if (r.status() == 200 && r.json() != null) {
        boolean first = k.acked == null;
        k.acked = new Ack(seq, del, r.json().getString("version"), phaseSent);
        writesAcked.incrementAndGet();
        if (del) {
          deletesAcked.incrementAndGet();
        }
        if (first) {
          synchronized (readable) {
            readable.add(k);
          }
        }
      } else {
        writesRefused.incrementAndGet();
        problem("write " + k.name + "#" + seq + (del ? " (delete)" : "") + " via " + base + " in " + phaseSent + ": " + r);
      }
      pause();
    }
  }

  private void read(int reader) {
    Random rnd = new Random(1000 + reader);
    for (int op = 0; op < MAX_OPS_PER_THREAD && running(); op++) {
      Key k;
      synchronized (readable) {
        k = readable.get(rnd.nextInt(readable.size()));
      }
      Ack before = k.acked;
      String phaseSent = phase;
      String base = acquire(rnd);
      Response r = send(base, () -> http.read(base, k.name, "quorum"));
      reads.incrementAndGet();
      String verdict = verdict(k, before, r);
      if (verdict != null) {
        problem(verdict + ": read " + k.name + " via " + base + " in " + phaseSent + ", acknowledged " + before
            + ", sent " + k.sent + ": " + r);
      }
      pause();
    }
  }

  /** Null when the answer is one a client may see; else the kind of problem, counted. */
  private String verdict(Key k, Ack before, Response r) {
    if (r.status() == 404) {
      if (before.delete() || k.sentDelete > before.seq()) {
        return null;
      }
      lost.incrementAndGet();
      return "lost";
    }
    JsonObject body = r.status() == 200 ? r.json() : null;
    Object value = body == null ? null : body.getValue("value");
    if (!(value instanceof JsonObject v) || v.getInteger("s") == null) {
      failed.incrementAndGet();
      return "failed";
    }
    int s = v.getInteger("s");
    if (s >= before.seq()) {
      return null;
    }
    if (before.delete()) {
      resurrected.incrementAndGet();
      return "resurrected";
    }
    stale.incrementAndGet();
    return "stale";
  }

  /** A random node to send to, counted in flight until {@link #send} has its answer. */
  private synchronized String acquire(Random rnd) {
    List<String> t = targets;
    String base = t.get(rnd.nextInt(t.size()));
    inFlight.computeIfAbsent(base, b -> new AtomicInteger()).incrementAndGet();
    return base;
  }

  private Response send(String base, java.util.function.Supplier<Response> request) {
    try {
      return request.get();
    } finally {
      inFlight.get(base).decrementAndGet();
    }
  }

  private void problem(String what) {
    if (problemCount.incrementAndGet() <= MAX_PROBLEMS_KEPT) {
      problems.add(java.time.LocalTime.now() + " " + what);
    }
  }

  private void pause() {
    try {
      Thread.sleep(pause.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop.set(true);
    }
  }
}
