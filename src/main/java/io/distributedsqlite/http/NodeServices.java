package io.distributedsqlite.http;

import io.distributedsqlite.cluster.NodeHealth;

import io.distributedsqlite.cluster.ClockOffsets;
import io.distributedsqlite.cluster.CurrentView;
import io.distributedsqlite.cluster.DigestIndex;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.storage.HybridLogicalClock;
import io.distributedsqlite.storage.RecordReader;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * What every HTTP verticle instance is handed at deployment; each part is immutable or
 * thread-safe. {@code health} also carries the replica's standing (normal, rebuilding, checking,
 * stale). {@code offsets}: the clock offsets to the peers and whether the clock may stamp writes.
 * {@code view}: the membership view this node runs with, and where keys live under it.
 */
public record NodeServices(NodeConfig config, PrometheusMeterRegistry registry, RecordReader reader,
    NodeHealth health, DigestIndex digests, HybridLogicalClock clock, ClockOffsets offsets,
    CurrentView view) {}
