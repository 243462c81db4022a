-- Write-heavy: POST /set with a fresh key every request (inserts), value of VALUE_BYTES.
--   wrk -t2 -c64 -d10s -s load-tests/wrk/write.lua http://127.0.0.1:8080
-- environment: VALUE_BYTES (default 100; e.g. 10240), W (one|quorum|all; empty = node default),
--              KEY_PREFIX (default w<epoch seconds>), WRK_TARGETS (see common.lua)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local value = c.json_value(c.envnum("VALUE_BYTES", 100))
local path = c.param("/set", "w", c.env("W", ""))
local prefix = c.env("KEY_PREFIX", "w" .. os.time())
local headers = { ["Content-Type"] = "application/json" }
local n = 0

setup = c.setup
done = c.done

function request()
  n = n + 1
  local body = '{"key":"' .. prefix .. "-" .. thread_id .. "-" .. n .. '","value":' .. value .. "}"
  return wrk.format("POST", path, headers, body)
end
