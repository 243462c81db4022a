-- Read-heavy: GET /get of keys written by preload.lua, picked Zipf-like (a small hot set).
--   wrk -t2 -c64 -d10s -s load-tests/wrk/read.lua http://127.0.0.1:8080
-- environment: KEYS (default 10000), KEY_PREFIX (default pre, as preload.lua),
--              R (one|quorum|all; empty = node default), WRK_TARGETS (see common.lua),
--              GET_PATH (default /get; /internal/get reads one node's own record, no coordination)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local keys = c.envnum("KEYS", 10000)
local prefix = c.env("KEY_PREFIX", "pre")
local r = c.env("R", "")
local suffix = (r ~= "" and ("&r=" .. r) or "")
local get_path = c.env("GET_PATH", "/get")

setup = c.setup
done = c.done

function init(args)
  math.randomseed(os.time() + 7919 * (thread_id + 1))
end

function request()
  return wrk.format("GET", get_path .. "?key=" .. prefix .. "-" .. c.zipf(keys) .. suffix)
end
