package io.distributedsqlite.cluster;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;

/** The meters every {@link PeerRepairRound} adds to. */
record RepairMeters(Counter bucketsCompared, Counter recordsSent, Counter recordsReceived, Counter recordsRefused,
    DistributionSummary batchBytes) {

  static RepairMeters register(MeterRegistry registry) {
    return new RepairMeters(
        Counter.builder("dsqlite_repair_buckets_compared").register(registry),
        Counter.builder("dsqlite_repair_records_sent").register(registry),
        Counter.builder("dsqlite_repair_records_received").register(registry),
        Counter.builder("dsqlite_repair_records_refused")
            .description("Records a peer refused on their own (too large or invalid there); skipped").register(registry),
        DistributionSummary.builder("dsqlite_peer_batch_bytes").tag("kind", "repair").baseUnit("bytes")
            .description("Bytes of records in one request to a peer").register(registry));
  }
}
