// Mixed: READ_PCT % GET /get and the rest POST /set on preloaded keys picked Zipf-like, with a
// ramping number of closed-loop VUs (each sends its next request when the last one is answered).
//   k6 run -e BASE_URLS=http://127.0.0.1:8080,http://127.0.0.1:8081,http://127.0.0.1:8082 load-tests/mixed.js
//   k6 run -e CONSISTENCY=quorum ... load-tests/mixed.js     # w=quorum&r=quorum
// env: VUS (plateau, default 64), RAMP (default 30s), HOLD (default 60s), READ_PCT (default 90),
//      KEYS (default 1000), VALUE_BYTES (default 100), W, R or CONSISTENCY (default one),
//      P99_MS (default 50), MAX_FAILED (default 0.01), SUMMARY_DIR (default .)
import { getKey, jsonValue, keyOf, preload, setKey, summary, thresholds, zipf, RUN_ID, VALUE_BYTES } from './lib/common.js';

const VUS = Number(__ENV.VUS || 64);
const RAMP = __ENV.RAMP || '30s';
const HOLD = __ENV.HOLD || '60s';
const READ_PCT = Number(__ENV.READ_PCT || 90);

export const options = {
  setupTimeout: '120s',
  scenarios: {
    mixed: {
      executor: 'ramping-vus',
      exec: 'mixed',
      startVUs: 1,
      stages: [
        { target: VUS, duration: RAMP },
        { target: VUS, duration: HOLD },
        { target: 0, duration: '10s' },
      ],
      gracefulRampDown: '10s',
    },
  },
  thresholds: thresholds(['get', 'set']),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
};

export function setup() {
  return preload(`${RUN_ID}-m`);
}

export function mixed(data) {
  const i = zipf(data.keys);
  const key = keyOf(data.prefix, i);
  if (Math.random() * 100 < READ_PCT) {
    // writes below keep n = i, so a read checks the value whichever write it sees
    getKey(key, i);
  } else {
    setKey(key, jsonValue(i, VALUE_BYTES));
  }
}

export const handleSummary = summary('mixed');
