-- Preload: POST /set?w=all of KEY_PREFIX-0 .. KEY_PREFIX-(KEYS-1), each once, split over the wrk
-- threads; a thread stops sending as soon as its share is acknowledged, but wrk itself still runs
-- for all of -d. bin/load-preload (curl) does the same and returns as soon as it is done.
--   KEYS=10000 wrk -t2 -c32 -d60s -s load-tests/wrk/preload.lua http://127.0.0.1:8080
-- environment: KEYS (default 10000), KEY_PREFIX (default pre), VALUE_BYTES (default 100),
--              W (default all), THREADS (must equal wrk's -t; default 2)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local keys = c.envnum("KEYS", 10000)
local threads = c.envnum("THREADS", 2)
local prefix = c.env("KEY_PREFIX", "pre")
local value = c.json_value(c.envnum("VALUE_BYTES", 100))
local path = c.param("/set", "w", c.env("W", "all"))
local headers = { ["Content-Type"] = "application/json" }
local sent, answered, share = 0, 0, 0

setup = c.setup
done = c.done

function init(args)
  -- keys thread_id, thread_id + threads, thread_id + 2*threads, ... belong to this thread
  share = math.floor((keys - thread_id + threads - 1) / threads)
end

function request()
  local i = thread_id + threads * (sent % math.max(share, 1))
  sent = sent + 1
  return wrk.format("POST", path, headers, '{"key":"' .. prefix .. "-" .. i .. '","value":' .. value .. "}")
end

function response(status, hdrs, body)
  answered = answered + 1
  if answered >= share then
    wrk.thread:stop()
  end
end
