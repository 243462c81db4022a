-- Batch writes: POST /batch with BATCH_SIZE sets of fresh keys per request, values of VALUE_BYTES.
--   wrk -t2 -c16 -d10s -s load-tests/wrk/batch.lua http://127.0.0.1:8080
-- Records/s = requests/s x BATCH_SIZE.
-- environment: BATCH_SIZE (default 100), VALUE_BYTES (default 100), W (one|quorum|all; empty =
--              node default), KEY_PREFIX (default b<epoch seconds>), WRK_TARGETS (see common.lua)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local size = c.envnum("BATCH_SIZE", 100)
local value = c.json_value(c.envnum("VALUE_BYTES", 100))
local path = c.param("/batch", "w", c.env("W", ""))
local prefix = c.env("KEY_PREFIX", "b" .. os.time())
local headers = { ["Content-Type"] = "application/json" }
local n = 0

setup = c.setup
done = c.done

function request()
  n = n + 1
  local ops = {}
  for i = 1, size do
    ops[i] = '{"op":"set","key":"' .. prefix .. "-" .. thread_id .. "-" .. n .. "-" .. i .. '","value":' .. value .. "}"
  end
  return wrk.format("POST", path, headers, '{"ops":[' .. table.concat(ops, ",") .. "]}")
end
