// Write-heavy: POST /set of fresh keys (inserts) at a ramping arrival rate, ~100-byte values, plus
// a smaller stream of ~10 KiB values.
//   k6 run -e BASE_URLS=http://127.0.0.1:8080,http://127.0.0.1:8081,http://127.0.0.1:8082 load-tests/write-heavy.js
// env: RATE (writes/s at the plateau, default 500), LARGE_RATE (10 KiB writes/s, default 20),
//      RAMP (default 30s), HOLD (default 60s), VALUE_BYTES (default 100), LARGE_VALUE_BYTES
//      (default 10240), W or CONSISTENCY (one|quorum|all, default one), P99_MS (default 50),
//      MAX_FAILED (default 0.01), SUMMARY_DIR (default .)
import { jsonValue, setKey, summary, thresholds, RUN_ID, VALUE_BYTES } from './lib/common.js';
import exec from 'k6/execution';

const RATE = Number(__ENV.RATE || 500);
const LARGE_RATE = Number(__ENV.LARGE_RATE || 20);
const RAMP = __ENV.RAMP || '30s';
const HOLD = __ENV.HOLD || '60s';
const LARGE_VALUE_BYTES = Number(__ENV.LARGE_VALUE_BYTES || 10240);

function arrival(rate, fn, maxVUs) {
  return {
    executor: 'ramping-arrival-rate',
    exec: fn,
    startRate: 0,
    timeUnit: '1s',
    preAllocatedVUs: Math.min(maxVUs, Math.max(4, Math.ceil(rate / 20))),
    maxVUs: maxVUs,
    stages: [
      { target: rate, duration: RAMP },
      { target: rate, duration: HOLD },
      { target: 0, duration: '10s' },
    ],
  };
}

export const options = {
  scenarios: {
    small_values: arrival(RATE, 'writeSmall', 200),
    large_values: arrival(LARGE_RATE, 'writeLarge', 50),
  },
  thresholds: thresholds(['set']),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
};

function uniqueKey(kind) {
  return `${RUN_ID}-${kind}-${exec.vu.idInTest}-${exec.vu.iterationInScenario}`;
}

export function writeSmall() {
  setKey(uniqueKey('s'), jsonValue(exec.vu.iterationInScenario, VALUE_BYTES));
}

export function writeLarge() {
  setKey(uniqueKey('l'), jsonValue(exec.vu.iterationInScenario, LARGE_VALUE_BYTES));
}

export const handleSummary = summary('write-heavy');
