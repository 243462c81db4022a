-- Mixed: READ_PCT % GET /get, the rest POST /set, both on the preloaded keys picked Zipf-like
-- (writes overwrite hot keys, so reads keep finding them).
--   wrk -t2 -c64 -d10s -s load-tests/wrk/mixed.lua http://127.0.0.1:8080
-- environment: READ_PCT (default 90), KEYS (default 10000), KEY_PREFIX (default pre),
--              VALUE_BYTES (default 100), R and W (consistency levels; empty = node default),
--              WRK_TARGETS (see common.lua)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local read_pct = c.envnum("READ_PCT", 90)
local keys = c.envnum("KEYS", 10000)
local prefix = c.env("KEY_PREFIX", "pre")
local value = c.json_value(c.envnum("VALUE_BYTES", 100))
local r = c.env("R", "")
local rsuffix = (r ~= "" and ("&r=" .. r) or "")
local set_path = c.param("/set", "w", c.env("W", ""))
local headers = { ["Content-Type"] = "application/json" }

setup = c.setup
done = c.done

function init(args)
  math.randomseed(os.time() + 104729 * (thread_id + 1))
end

function request()
  local key = prefix .. "-" .. c.zipf(keys)
  if math.random() * 100 < read_pct then
    return wrk.format("GET", "/get?key=" .. key .. rsuffix)
  end
  return wrk.format("POST", set_path, headers, '{"key":"' .. key .. '","value":' .. value .. "}")
end
