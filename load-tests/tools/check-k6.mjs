// Checks k6 scripts without k6: each must parse as an ES module, link (its relative imports exist,
// its other imports are k6 built-ins), evaluate with stand-ins for the k6 modules, export
// `options` with scenarios whose exec functions it exports, thresholds on http_req_failed and on a
// p(99) of http_req_duration, a handleSummary that writes JSON, and call only the store's
// endpoints. Every exported function (setup and scenario functions) is run once against fake
// responses to record the URLs it requests.
//
//   node --experimental-vm-modules load-tests/tools/check-k6.mjs load-tests/*.js
//
// Prints one JSON line per script ({"file","ok","errors","endpoints","scenarios"}); exits 1 when
// any script fails.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

export const ENDPOINTS = ['/set', '/get', '/delete', '/scan', '/batch', '/health', '/ready', '/metrics', '/cluster', '/internal/get'];
const K6_MODULES = ['k6', 'k6/http', 'k6/execution', 'k6/metrics', 'k6/data', 'k6/encoding', 'k6/crypto'];
const EXECUTORS = ['shared-iterations', 'per-vu-iterations', 'constant-vus', 'ramping-vus',
  'constant-arrival-rate', 'ramping-arrival-rate', 'externally-controlled'];

function k6Stubs(requested) {
  const record = (method, url, body) => {
    requested.push({ method: method, url: String(url) });
    const status = 200;
    let parsed = {};
    try {
      parsed = body ? JSON.parse(body) : {};
    } catch (e) {
      parsed = {};
    }
    const key = parsed.key || (String(url).match(/[?&]key=([^&]*)/) || [])[1];
    const bodyObj = { status: 'success', key: key ? decodeURIComponent(key) : undefined, value: parsed.value || { n: 0 } };
    return {
      status: status,
      body: JSON.stringify(bodyObj),
      json: (sel) => (sel ? sel.split('.').reduce((o, k) => (o == null ? undefined : o[k]), bodyObj) : bodyObj),
      timings: { duration: 1 },
    };
  };
  const http = {
    get: (url) => record('GET', url),
    post: (url, body) => record('POST', url, body),
    put: (url, body) => record('PUT', url, body),
    del: (url) => record('DELETE', url),
    request: (method, url, body) => record(method, url, body),
    batch: (reqs) => (Array.isArray(reqs) ? reqs : Object.values(reqs)).map((r) =>
      Array.isArray(r) ? record(r[0], r[1], r[2]) : record(r.method || 'GET', r.url, r.body)),
  };
  class Metric {
    constructor(name) { this.name = name; }
    add() {}
  }
  const vu = { idInTest: 1, idInInstance: 1, iterationInInstance: 0, iterationInScenario: 0, tags: {} };
  return {
    'k6': { check: (v, checks) => { for (const f of Object.values(checks)) f(v); return true; }, sleep: () => {},
      group: (n, f) => f(), fail: (m) => { throw new Error(m); } },
    'k6/http': { default: http, ...http },
    'k6/execution': { default: { vu: vu, scenario: { name: 'check', iterationInTest: 0 }, test: {}, instance: {} } },
    'k6/metrics': { Counter: Metric, Gauge: Metric, Rate: Metric, Trend: Metric },
    'k6/data': { SharedArray: class { constructor(n, f) { return f(); } } },
    'k6/encoding': { default: { b64encode: (s) => Buffer.from(s).toString('base64') } },
    'k6/crypto': { default: {} },
  };
}

async function checkScript(file) {
  const errors = [];
  const requested = [];
  const stubs = k6Stubs(requested);
  const context = vm.createContext({ __ENV: {}, __VU: 0, __ITER: 0, console: console, Date: Date, Math: Math, JSON: JSON });
  const cache = new Map();
  const sources = [];

  function load(filePath) {
    if (cache.has(filePath)) return cache.get(filePath);
    const src = fs.readFileSync(filePath, 'utf8');
    sources.push({ file: filePath, src: src });
    const m = new vm.SourceTextModule(src, { identifier: filePath, context: context });
    cache.set(filePath, m);
    return m;
  }

  async function linker(specifier, referencing) {
    if (K6_MODULES.includes(specifier)) {
      const exports = stubs[specifier];
      const names = Object.keys(exports);
      const m = new vm.SyntheticModule(names, function () {
        for (const n of names) this.setExport(n, exports[n]);
      }, { identifier: specifier, context: context });
      return m;
    }
    if (specifier.startsWith('./') || specifier.startsWith('../')) {
      const target = path.resolve(path.dirname(referencing.identifier), specifier);
      if (!fs.existsSync(target)) throw new Error(`import '${specifier}' not found (${target})`);
      return load(target);
    }
    if (specifier.startsWith('k6/')) throw new Error(`unknown k6 module '${specifier}'`);
    throw new Error(`import '${specifier}' is neither a k6 built-in nor a relative file (remote imports need network)`);
  }

  let ns;
  try {
    const m = load(path.resolve(file));
    await m.link(linker);
    await m.evaluate();
    ns = m.namespace;
  } catch (e) {
    errors.push(`does not parse, link or evaluate: ${e.message}`);
    return { file: file, ok: false, errors: errors, endpoints: [], scenarios: [] };
  }

  const options = ns.options;
  const scenarios = options && options.scenarios ? Object.entries(options.scenarios) : [];
  if (!options) errors.push('exports no options');
  if (scenarios.length === 0) errors.push('options has no scenarios');
  for (const [name, sc] of scenarios) {
    if (!EXECUTORS.includes(sc.executor)) errors.push(`scenario ${name}: unknown executor ${sc.executor}`);
    const fn = sc.exec || 'default';
    if (typeof ns[fn] !== 'function') errors.push(`scenario ${name}: exec '${fn}' is not an exported function`);
    if (sc.executor === 'ramping-arrival-rate' || sc.executor === 'ramping-vus') {
      if (!Array.isArray(sc.stages) || sc.stages.length === 0) errors.push(`scenario ${name}: no stages`);
    }
    if (sc.executor && sc.executor.endsWith('arrival-rate') && !(sc.preAllocatedVUs > 0)) {
      errors.push(`scenario ${name}: arrival-rate executor without preAllocatedVUs`);
    }
  }
  const th = (options && options.thresholds) || {};
  if (!th.http_req_failed || th.http_req_failed.length === 0) errors.push('no threshold on http_req_failed');
  const p99 = Object.entries(th).some(([k, v]) => k.startsWith('http_req_duration') &&
    v.some((x) => /p\(99\)\s*</.test(typeof x === 'string' ? x : x.threshold)));
  if (!p99) errors.push('no p(99) threshold on http_req_duration');

  if (typeof ns.handleSummary !== 'function') {
    errors.push('exports no handleSummary');
  } else {
    const out = ns.handleSummary({ metrics: { http_reqs: { values: { count: 1, rate: 1 } } } });
    const jsonKeys = Object.keys(out || {}).filter((k) => k.endsWith('.json'));
    if (jsonKeys.length === 0) errors.push('handleSummary writes no .json file');
    for (const k of jsonKeys) {
      try {
        JSON.parse(out[k]);
      } catch (e) {
        errors.push(`handleSummary's ${k} is not JSON`);
      }
    }
  }

  // Run setup and every scenario function once, to record the URLs they request.
  let data;
  try {
    if (typeof ns.setup === 'function') data = ns.setup();
    for (const [, sc] of scenarios) {
      const fn = ns[sc.exec || 'default'];
      if (typeof fn === 'function') for (let i = 0; i < 50; i++) fn(data);
    }
  } catch (e) {
    errors.push(`running a scenario function against stand-in responses failed: ${e.message}`);
  }
  const used = new Set();
  for (const r of requested) {
    let p;
    try {
      p = new URL(r.url).pathname;
    } catch (e) {
      errors.push(`requests an invalid URL: ${r.url}`);
      continue;
    }
    used.add(`${r.method} ${p}`);
    if (!ENDPOINTS.includes(p)) errors.push(`requests ${r.method} ${p}, not an endpoint of the store`);
  }
  // And every path literal in the sources ('/x', "/x?...", `${base}/x?...`).
  for (const s of sources) {
    for (const m of s.src.matchAll(/(?:['"`]|\})(\/[A-Za-z_][\w/-]*)(?=['"`?])/g)) {
      if (!ENDPOINTS.includes(m[1])) errors.push(`${path.basename(s.file)} names path ${m[1]}, not an endpoint of the store`);
    }
  }
  if (requested.length === 0) errors.push('no scenario function made a request');
  const unique = [...new Set(errors)];
  return { file: file, ok: unique.length === 0, errors: unique, endpoints: [...used].sort(), scenarios: scenarios.map(([n]) => n) };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node --experimental-vm-modules check-k6.mjs SCRIPT.js...');
  process.exit(2);
}
let failed = 0;
for (const f of files) {
  const r = await checkScript(f);
  if (!r.ok) failed += 1;
  console.log(JSON.stringify(r));
}
process.exit(failed === 0 ? 0 : 1);
