package io.distributedsqlite.http;

import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.RecordReader;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** What every HTTP verticle instance is handed at deployment; each part is thread-safe. */
public record NodeServices(NodeConfig config, PrometheusMeterRegistry registry, RecordReader reader, NodeHealth health) {}
