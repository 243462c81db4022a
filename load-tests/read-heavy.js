// Read-heavy: setup() writes KEYS keys with w=all, then GET /get of them picked Zipf-like (a small
// hot set, a long tail) at a ramping arrival rate; every read checks the value it got.
//   k6 run -e BASE_URLS=http://127.0.0.1:8080,http://127.0.0.1:8081,http://127.0.0.1:8082 load-tests/read-heavy.js
// env: RATE (reads/s at the plateau, default 2000), RAMP (default 30s), HOLD (default 60s),
//      KEYS (default 1000), VALUE_BYTES (default 100), R or CONSISTENCY (one|quorum|all,
//      default one), P99_MS (default 50), MAX_FAILED (default 0.01), SUMMARY_DIR (default .)
import { getKey, keyOf, preload, summary, thresholds, zipf, RUN_ID } from './lib/common.js';

const RATE = Number(__ENV.RATE || 2000);
const RAMP = __ENV.RAMP || '30s';
const HOLD = __ENV.HOLD || '60s';

export const options = {
  setupTimeout: '120s',
  scenarios: {
    reads: {
      executor: 'ramping-arrival-rate',
      exec: 'read',
      startRate: 0,
      timeUnit: '1s',
      preAllocatedVUs: Math.max(8, Math.ceil(RATE / 50)),
      maxVUs: 400,
      stages: [
        { target: RATE, duration: RAMP },
        { target: RATE, duration: HOLD },
        { target: 0, duration: '10s' },
      ],
    },
  },
  thresholds: thresholds(['get']),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
};

export function setup() {
  return preload(`${RUN_ID}-r`);
}

export function read(data) {
  const i = zipf(data.keys);
  getKey(keyOf(data.prefix, i), i);
}

export const handleSummary = summary('read-heavy');
