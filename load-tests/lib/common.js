// Shared by the k6 scripts in load-tests/: target nodes, consistency levels, request helpers with
// checks, thresholds and the JSON summary. Only the k6 built-in modules are imported, so the
// scripts run without network access to a jslib host.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

// BASE_URLS: comma-separated node URLs; requests are spread over them (every node coordinates).
// In Kubernetes one Service URL is enough: the Service spreads the connections.
export const BASE_URLS = (__ENV.BASE_URLS || 'http://127.0.0.1:8080,http://127.0.0.1:8081,http://127.0.0.1:8082')
  .split(',')
  .map((u) => u.trim().replace(/\/+$/, ''))
  .filter((u) => u.length > 0);

// CONSISTENCY=quorum switches both levels; W and R set them one by one (one|quorum|all).
const CONSISTENCY = __ENV.CONSISTENCY || 'one';
export const W = __ENV.W || CONSISTENCY;
export const R = __ENV.R || CONSISTENCY;

export const P99_MS = Number(__ENV.P99_MS || 50);
export const MAX_FAILED = Number(__ENV.MAX_FAILED || 0.01);
export const KEYS = Number(__ENV.KEYS || 1000);
export const VALUE_BYTES = Number(__ENV.VALUE_BYTES || 100);
export const RUN_ID = __ENV.RUN_ID || `k6-${Date.now().toString(36)}`;

const JSON_HEADERS = { 'Content-Type': 'application/json' };
let rr = 0;

/** The node for the next request: round robin per VU, VUs starting on different nodes. */
export function baseUrl() {
  let vu = 0;
  try {
    vu = exec.vu.idInTest;
  } catch (e) {
    vu = 0; // setup() and teardown() run outside a VU
  }
  rr += 1;
  return BASE_URLS[(vu + rr) % BASE_URLS.length];
}

/** A JSON object of about `bytes` bytes that carries `n`, so a read can check what it got. */
export function jsonValue(n, bytes) {
  const head = { user: 'k6', n: n, pad: '' };
  const pad = Math.max(0, bytes - JSON.stringify(head).length);
  head.pad = 'x'.repeat(pad);
  return head;
}

/** Zipf-like index in [0, n): density ~ 1/x, a few hot keys and a long tail. */
export function zipf(n) {
  const i = Math.floor(Math.pow(n, Math.random())) - 1;
  return Math.min(n - 1, Math.max(0, i));
}

export function keyOf(prefix, i) {
  return `${prefix}-${i}`;
}

/** POST /set with checks on the status and the acknowledgement body. */
export function setKey(key, value, w = W) {
  const res = http.post(`${baseUrl()}/set?w=${w}`, JSON.stringify({ key: key, value: value }), {
    headers: JSON_HEADERS,
    tags: { name: 'set', w: w },
  });
  check(res, {
    'set: status 200': (r) => r.status === 200,
    'set: body acknowledges the key': (r) => r.status === 200 && r.json('status') === 'success' && r.json('key') === key,
    // the original's clients decode node_id into a string: NODE_ID as configured
    'set: node_id is a string': (r) => r.status === 200 && typeof r.json('node_id') === 'string',
  });
  return res;
}

/** GET /get with checks on the status and that the body carries the key and the expected value. */
export function getKey(key, expectedN, r = R) {
  const res = http.get(`${baseUrl()}/get?key=${encodeURIComponent(key)}&r=${r}`, {
    tags: { name: 'get', r: r },
  });
  check(res, {
    'get: status 200': (x) => x.status === 200,
    'get: body has the key and its value': (x) =>
      x.status === 200 && x.json('key') === key && (expectedN === undefined || x.json('value.n') === expectedN),
    'get: node_id is a string': (x) => x.status === 200 && typeof x.json('node_id') === 'string',
  });
  return res;
}

/** Writes KEYS keys `prefix-0..KEYS-1` with w=all in batches, before the load starts (setup()). */
export function preload(prefix, count = KEYS, bytes = VALUE_BYTES) {
  const batchSize = 50;
  let failed = 0;
  for (let start = 0; start < count; start += batchSize) {
    const reqs = [];
    for (let i = start; i < Math.min(count, start + batchSize); i++) {
      reqs.push({
        method: 'POST',
        url: `${baseUrl()}/set?w=all`,
        body: JSON.stringify({ key: keyOf(prefix, i), value: jsonValue(i, bytes) }),
        params: { headers: JSON_HEADERS, tags: { name: 'preload' } },
      });
    }
    for (const res of http.batch(reqs)) {
      if (res.status !== 200) failed += 1;
    }
  }
  if (failed > 0) {
    throw new Error(`preload: ${failed} of ${count} writes failed; is the cluster up at ${BASE_URLS.join(', ')}?`);
  }
  return { prefix: prefix, keys: count };
}

/**
 * Thresholds every script shares: at most MAX_FAILED of the requests failed (non-2xx/3xx or no
 * answer), 99% of the checks passed, and p(99) latency under P99_MS per request name ('set',
 * 'get'; the setup preload is not bounded).
 */
export function thresholds(names) {
  const t = {
    http_req_failed: [`rate<${MAX_FAILED}`],
    checks: ['rate>0.99'],
  };
  for (const n of names) {
    t[`http_req_duration{name:${n}}`] = [`p(99)<${P99_MS}`];
  }
  return t;
}

function metric(data, name, stat) {
  const m = data.metrics && data.metrics[name];
  return m && m.values && m.values[stat] !== undefined ? m.values[stat] : undefined;
}

function fmt(v, digits = 2) {
  return typeof v === 'number' ? v.toFixed(digits) : '-';
}

/**
 * handleSummary for a script: writes k6's full summary data as JSON to
 * SUMMARY_DIR/<name>-summary.json (default the working directory) and a short text to stdout.
 */
export function summary(name) {
  return function handleSummary(data) {
    const dir = (__ENV.SUMMARY_DIR || '.').replace(/\/+$/, '');
    const lines = [
      `${name}: ${BASE_URLS.length} node URL(s), w=${W} r=${R}`,
      `  requests      ${fmt(metric(data, 'http_reqs', 'count'), 0)} (${fmt(metric(data, 'http_reqs', 'rate'), 1)}/s)`,
      `  failed rate   ${fmt(metric(data, 'http_req_failed', 'rate'), 4)}`,
      `  checks rate   ${fmt(metric(data, 'checks', 'rate'), 4)}`,
      `  latency ms    p50 ${fmt(metric(data, 'http_req_duration', 'med'))}  p90 ${fmt(metric(data, 'http_req_duration', 'p(90)'))}` +
        `  p99 ${fmt(metric(data, 'http_req_duration', 'p(99)'))}  max ${fmt(metric(data, 'http_req_duration', 'max'))}`,
    ];
    for (const [metricName, m] of Object.entries(data.metrics || {})) {
      if (m.thresholds) {
        for (const [expr, res] of Object.entries(m.thresholds)) {
          lines.push(`  threshold ${metricName} ${expr}: ${res.ok ? 'ok' : 'FAILED'}`);
        }
      }
    }
    const out = { stdout: lines.join('\n') + '\n' };
    out[`${dir}/${name}-summary.json`] = JSON.stringify(data, null, 2);
    return out;
  };
}
