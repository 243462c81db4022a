package io.distributedsqlite.wire;

import io.distributedsqlite.storage.BucketPosition;
import io.distributedsqlite.storage.Record;
import java.util.List;

/**
 * One byte-bounded answer of a peer: the records that fit, the asked keys it left out (to be
 * asked again), and for a bucket listing where the next page starts (null: the listing is done).
 */
public record RecordPage(List<Record> records, List<String> unserved, BucketPosition next) {}
