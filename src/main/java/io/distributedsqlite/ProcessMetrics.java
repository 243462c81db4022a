package io.distributedsqlite;

import io.distributedsqlite.storage.SqliteStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.core.metrics.Info;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What an operator needs besides the store's own meters: JVM memory, GC, threads and classes,
 * CPU, uptime and file descriptors (Micrometer's binders), the database's size on disk, and
 * which build is running.
 */
final class ProcessMetrics {
  private ProcessMetrics() {}

  /** Binds the meters; the returned handle removes the GC listener when the node stops. */
  static AutoCloseable bind(MeterRegistry registry, Path dataDir) {
    new JvmMemoryMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    Path db = dataDir.resolve(SqliteStore.FILE_NAME);
    Path wal = dataDir.resolve(SqliteStore.FILE_NAME + "-wal");
    Gauge.builder("dsqlite_database_bytes", () -> sizeOf(db) + sizeOf(wal))
        .description("Size of the SQLite database file and its write-ahead log").baseUnit("bytes").register(registry);
    return gc;
  }

  /**
   * {@code dsqlite_build_info{version,java,node}} 1, as a Prometheus info metric: Micrometer
   * strips an {@code _info} suffix from gauge names, so it is registered with the Prometheus
   * client directly.
   */
  static void bindBuildInfo(PrometheusMeterRegistry registry, String node) {
    String version = ProcessMetrics.class.getPackage().getImplementationVersion();
    Info.builder().name("dsqlite_build_info").help("The running build")
        .labelNames("version", "java", "node")
        .register(registry.getPrometheusRegistry())
        .addLabelValues(version == null ? "dev" : version, System.getProperty("java.version"), node);
  }

  private static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return 0; // not created yet, or the WAL was just checkpointed away
    }
  }
}
