-- Shared by the wrk scripts in this folder (wrk 4.x, LuaJIT). Loaded with
--   local c = dofile(script_dir .. "common.lua")
-- Provides: environment settings, per-thread ids (and optional spreading of wrk threads over
-- several nodes), a Zipf-like key picker, JSON values of a given size, and a done() that prints one
-- machine-readable line:  WRK_RESULT {"requests":...,"rps":...,"p50_ms":...,"p99_ms":...,...}
local M = {}

function M.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

function M.envnum(name, default)
  local v = tonumber(M.env(name, ""))
  if v == nil then return default end
  return v
end

-- A JSON object of about `bytes` bytes: {"user":"load","n":12345,"pad":"xxxx..."}.
function M.json_value(bytes)
  local head = '{"user":"load","n":12345,"pad":"'
  local pad = bytes - #head - 2
  if pad < 0 then pad = 0 end
  return head .. string.rep("x", pad) .. '"}'
end

-- Zipf-like (density ~ 1/x) index in [0, n-1]: few keys are hot, the tail is long. With n=10000
-- the hottest 1% of the keys get about half of the requests.
function M.zipf(n)
  local i = math.floor(n ^ math.random()) - 1
  if i < 0 then i = 0 end
  if i >= n then i = n - 1 end
  return i
end

-- Appends "&name=value" (or "?name=value" when the path has no query yet) for a non-empty value.
function M.param(path, name, value)
  if value == nil or value == "" then return path end
  local sep = path:find("?", 1, true) and "&" or "?"
  return path .. sep .. name .. "=" .. value
end

-- setup(thread) for the main state: gives every thread an id (0..T-1) and, when WRK_TARGETS is
-- set ("127.0.0.1:8080,127.0.0.1:8081,..."), connects thread i to target i mod #targets, so the
-- client load is spread over the nodes instead of all going to the URL given on the command line.
local thread_count = 0
local targets = nil

local function resolve_targets()
  local spec = M.env("WRK_TARGETS", "")
  if spec == "" then return nil end
  local addrs = {}
  for hostport in spec:gmatch("[^,%s]+") do
    local host, port = hostport:match("^([^:]+):(%d+)$")
    if host == nil then error("WRK_TARGETS entry is not host:port: " .. hostport) end
    local found = wrk.lookup(host, port)
    if found == nil or #found == 0 then error("cannot resolve " .. hostport) end
    addrs[#addrs + 1] = found[1]
  end
  return addrs
end

function M.setup(thread)
  if targets == nil then targets = resolve_targets() or false end
  thread:set("thread_id", thread_count)
  if targets then
    thread.addr = targets[(thread_count % #targets) + 1]
  end
  thread_count = thread_count + 1
end

function M.threads()
  return thread_count
end

-- done(summary, latency, requests): one JSON line with the figures bin/load-run tabulates.
-- errors = non-2xx/3xx statuses (wrk counts status > 399) + socket errors (connect, read, write,
-- timeout). Latencies are in milliseconds.
function M.done(summary, latency, requests)
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  local rps = 0
  if secs > 0 then rps = summary.requests / secs end
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,'
      .. '"max_ms":%.3f,"mean_ms":%.3f,"status_errors":%d,"socket_errors":%d,"connect":%d,"read":%d,'
      .. '"write":%d,"timeout":%d,"errors":%d,"bytes":%d}\n',
    summary.requests, secs, rps,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.status, socket, e.connect, e.read, e.write, e.timeout, e.status + socket, summary.bytes))
end

return M
