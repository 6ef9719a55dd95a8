-- Shared by chat_json.lua and chat_stream.lua: POST /v1/chat/completions with a Bearer token,
-- and one JSON line from done() with throughput, latency percentiles and error counts.
--
-- Environment: BENCH_TOKEN (the bearer token, default "sk-bench-direct"), BENCH_LABEL (copied
-- into the JSON line), BENCH_MODEL (default "gpt-4o-mini"), BENCH_TOOLS=1 (the request offers
-- two function tools after a finished tool round, and the mock answers with a tool call).
local M = {}

function M.setup_request(stream)
  local token = os.getenv("BENCH_TOKEN") or "sk-bench-direct"
  local model = os.getenv("BENCH_MODEL") or "gpt-4o-mini"
  local body = '{"model":"' .. model .. '","messages":[' ..
      '{"role":"system","content":"You are a terse assistant."},' ..
      '{"role":"user","content":"Say hello to the benchmark."}]'
  if os.getenv("BENCH_TOOLS") == "1" then
    body = '{"model":"' .. model .. '","messages":[' ..
        '{"role":"system","content":"You are a terse assistant."},' ..
        '{"role":"user","content":"What is the weather in Paris and in Rome?"},' ..
        '{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",' ..
        '"function":{"name":"get_weather","arguments":"{\\"city\\":\\"Rome\\"}"}}]},' ..
        '{"role":"tool","tool_call_id":"call_1","content":"{\\"temp\\":21}"}],' ..
        '"tools":[{"type":"function","function":{"name":"get_weather",' ..
        '"description":"The weather in a city","parameters":{"type":"object",' ..
        '"properties":{"city":{"type":"string"},"unit":{"type":"string",' ..
        '"enum":["celsius","fahrenheit"]}},"required":["city"]}}},' ..
        '{"type":"function","function":{"name":"get_time","description":"The local time",' ..
        '"parameters":{"type":"object","properties":{"city":{"type":"string"}},' ..
        '"required":["city"]}}}],"tool_choice":"auto"'
  end
  if stream then
    body = body .. ',"stream":true,"stream_options":{"include_usage":true}'
  end
  body = body .. "}"
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- BENCH_THINK_MS=D paces each connection: after an answer it waits an exponentially
-- distributed time with mean D ms (whole milliseconds, wrk's unit) before its next call. The
-- offered load is then about connections / (D + latency) instead of "as fast as the server
-- answers", and latency measures the path, not a queue the load generator keeps full.
function M.setup_pacing()
  local mean = tonumber(os.getenv("BENCH_THINK_MS") or "")
  if not mean or mean <= 0 then return end
  -- Each wrk thread has its own Lua state: seed them apart.
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
  delay = function()
    return math.floor(-mean * math.log(1 - math.random()) + 0.5)
  end
end

local function num(v)
  return string.format("%.0f", v)
end

-- summary.duration is in microseconds; latency percentiles are in microseconds.
-- errors.status counts answers with a status >= 400 (wrk's definition of non-2xx).
function M.done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local rps = seconds > 0 and summary.requests / seconds or 0
  local label = os.getenv("BENCH_LABEL") or ""
  io.write(string.format(
    '{"label":"%s","requests":%s,"duration_us":%s,"rps":%.1f,' ..
    '"p50_us":%s,"p99_us":%s,"p999_us":%s,"max_us":%s,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"non2xx":%d}\n',
    label, num(summary.requests), num(summary.duration), rps,
    num(latency:percentile(50)), num(latency:percentile(99)), num(latency:percentile(99.9)),
    num(latency.max), e.connect, e.read, e.write, e.timeout, e.status))
end

return M
