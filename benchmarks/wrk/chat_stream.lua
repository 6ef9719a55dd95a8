-- wrk script: one streaming call (SSE, include_usage) per request, POST /v1/chat/completions.
--   BENCH_TOKEN=... wrk -t2 -c64 -d10s -s benchmarks/wrk/chat_stream.lua http://127.0.0.1:PORT
-- Prints one JSON line (see chat_common.lua) after wrk's own report.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "chat_common.lua")

-- No request() function: wrk then formats the request once and sends the same bytes each time.
common.setup_request(true)
common.setup_pacing()

done = common.done
