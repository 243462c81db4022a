// Scans and batch writes: POST /batch of BATCH_SIZE fresh keys at a constant rate, and VUs that
// page through a preloaded prefix with GET /scan, checking every page answers and keys rise.
//   k6 run -e BASE_URLS=http://127.0.0.1:8080,http://127.0.0.1:8081,http://127.0.0.1:8082 load-tests/scan-batch.js
// env: BATCH_RATE (batches/s, default 20), BATCH_SIZE (ops per batch, default 100), SCAN_VUS
//      (default 2), SCAN_LIMIT (keys per page, default 100), MAX_PAGES (per scan, default 1000),
//      KEYS (keys preloaded under the scanned prefix, default 1000), HOLD (default 60s),
//      W / R or CONSISTENCY (default one), VALUE_BYTES (default 100), P99_MS (default 50),
//      MAX_FAILED (default 0.01), SUMMARY_DIR (default .)
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { baseUrl, jsonValue, keyOf, summary, thresholds, KEYS, R, RUN_ID, VALUE_BYTES, W } from './lib/common.js';

const BATCH_RATE = Number(__ENV.BATCH_RATE || 20);
const BATCH_SIZE = Number(__ENV.BATCH_SIZE || 100);
const SCAN_VUS = Number(__ENV.SCAN_VUS || 2);
const SCAN_LIMIT = Number(__ENV.SCAN_LIMIT || 100);
const MAX_PAGES = Number(__ENV.MAX_PAGES || 1000);
const HOLD = __ENV.HOLD || '60s';
const JSON_HEADERS = { 'Content-Type': 'application/json' };

const batchRecords = new Counter('batch_records');
const scannedKeys = new Counter('scanned_keys');

export const options = {
  scenarios: {
    batches: {
      executor: 'constant-arrival-rate',
      exec: 'writeBatch',
      rate: BATCH_RATE,
      timeUnit: '1s',
      duration: HOLD,
      preAllocatedVUs: Math.max(2, Math.ceil(BATCH_RATE / 5)),
      maxVUs: 100,
    },
    scans: {
      executor: 'constant-vus',
      exec: 'scanPrefix',
      vus: SCAN_VUS,
      duration: HOLD,
    },
  },
  thresholds: thresholds(['batch', 'scan']),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
};

function postBatch(ops, w, name) {
  return http.post(`${baseUrl()}/batch?w=${w}`, JSON.stringify({ ops: ops }), {
    headers: JSON_HEADERS,
    tags: { name: name, w: w },
  });
}

/** Preloads KEYS keys under this run's scan prefix through /batch at w=all, 500 ops a request. */
export function setup() {
  const prefix = `${RUN_ID}-scan`;
  for (let start = 0; start < KEYS; start += 500) {
    const ops = [];
    for (let i = start; i < Math.min(KEYS, start + 500); i++) {
      ops.push({ op: 'set', key: keyOf(prefix, i), value: jsonValue(i, VALUE_BYTES) });
    }
    const res = postBatch(ops, 'all', 'preload');
    if (res.status !== 200) {
      throw new Error(`preload through /batch answered ${res.status}; is the cluster up?`);
    }
  }
  return { prefix: prefix };
}

export function writeBatch() {
  const ops = [];
  const base = `${RUN_ID}-b-${exec.vu.idInTest}-${exec.vu.iterationInScenario}`;
  for (let i = 0; i < BATCH_SIZE; i++) {
    ops.push({ op: 'set', key: `${base}-${i}`, value: jsonValue(i, VALUE_BYTES) });
  }
  const res = postBatch(ops, W, 'batch');
  const ok = check(res, {
    'batch: status 200': (r) => r.status === 200,
    'batch: every op met w': (r) => r.status === 200 && r.json('met') === BATCH_SIZE,
  });
  if (ok) {
    batchRecords.add(BATCH_SIZE);
  }
}

export function scanPrefix(data) {
  const prefix = data && data.prefix ? data.prefix : `${RUN_ID}-scan`;
  let cursor = null;
  let last = null;
  let keys = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const url = `${baseUrl()}/scan?prefix=${encodeURIComponent(prefix + '-')}&limit=${SCAN_LIMIT}&r=${R}` +
      (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
    const res = http.get(url, { tags: { name: 'scan', r: R } });
    const items = res.status === 200 ? res.json('items') || [] : [];
    let rising = true;
    for (const item of items) {
      if (last !== null && !(item.key > last)) rising = false;
      last = item.key;
    }
    check(res, {
      'scan: status 200': (r) => r.status === 200,
      'scan: keys rise across pages': () => rising,
    });
    keys += items.length;
    cursor = res.status === 200 ? res.json('cursor') : null;
    if (!cursor) break;
  }
  scannedKeys.add(keys);
}

export const handleSummary = summary('scan-batch');
