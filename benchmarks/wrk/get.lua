-- wrk script: GET the URL given, optionally with If-None-Match (BENCH_IF_NONE_MATCH).
--   wrk -t2 -c64 -d10s -s benchmarks/wrk/get.lua http://127.0.0.1:PORT/b/bench
-- Prints one JSON line (see chat_common.lua) after wrk's own report.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "chat_common.lua")

local etag = os.getenv("BENCH_IF_NONE_MATCH") or ""
if etag ~= "" then wrk.headers["If-None-Match"] = etag end

done = common.done
