-- The etcd baseline, through etcd's v3 JSON gateway (keys and values base64), same shapes as the
-- distributed-sqlite scripts:
--   MODE=write    POST /v3/kv/put, a fresh key every request, value of VALUE_BYTES
--   MODE=read     POST /v3/kv/range of preloaded keys picked Zipf-like
--                 (linearizable by default, like r=quorum; SERIALIZABLE=1 reads the local member
--                 like r=one)
--   MODE=mixed    READ_PCT % range, the rest put, on the preloaded keys
--   MODE=preload  puts KEY_PREFIX-0 .. KEYS-1 once each, split over THREADS, then stops
--   MODE=write wrk -t2 -c64 -d10s -s load-tests/wrk/etcd.lua http://127.0.0.1:2379
-- environment: as write.lua / read.lua / mixed.lua / preload.lua, plus MODE and SERIALIZABLE.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local mode = c.env("MODE", "write")
local keys = c.envnum("KEYS", 10000)
local threads = c.envnum("THREADS", 2)
local read_pct = c.envnum("READ_PCT", 90)
local serializable = c.env("SERIALIZABLE", "") == "1"
local value_json = c.json_value(c.envnum("VALUE_BYTES", 100))
local headers = { ["Content-Type"] = "application/json" }

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  return ((s:gsub(".", function(x)
    local r, byte = "", x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local n = 0
    for i = 1, 6 do n = n + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(n + 1, n + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

local value = b64(value_json)
local prefix = c.env("KEY_PREFIX", mode == "write" and ("w" .. os.time()) or "pre")
local n, sent, answered, share = 0, 0, 0, 0

setup = c.setup
done = c.done

function init(args)
  math.randomseed(os.time() + 7919 * (thread_id + 1))
  share = math.floor((keys - thread_id + threads - 1) / threads)
end

local function put(key)
  return wrk.format("POST", "/v3/kv/put", headers, '{"key":"' .. b64(key) .. '","value":"' .. value .. '"}')
end

local function range(key)
  local body = '{"key":"' .. b64(key) .. '"' .. (serializable and ',"serializable":true' or "") .. "}"
  return wrk.format("POST", "/v3/kv/range", headers, body)
end

function request()
  if mode == "write" then
    n = n + 1
    return put(prefix .. "-" .. thread_id .. "-" .. n)
  elseif mode == "read" then
    return range(prefix .. "-" .. c.zipf(keys))
  elseif mode == "mixed" then
    local key = prefix .. "-" .. c.zipf(keys)
    if math.random() * 100 < read_pct then return range(key) end
    return put(key)
  elseif mode == "preload" then
    local i = thread_id + threads * (sent % math.max(share, 1))
    sent = sent + 1
    return put(prefix .. "-" .. i)
  end
  error("MODE must be write, read, mixed or preload: " .. mode)
end

if mode == "preload" then
  function response(status, hdrs, body)
    answered = answered + 1
    if answered >= share then wrk.thread:stop() end
  end
end
