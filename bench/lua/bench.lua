-- wrk driver for `npm run bench` (bench/lib/wrk.ts).
--
-- BENCH_REQUESTS  file of requests, one per line: PATH<TAB>Name: value<TAB>…
--                 One line: the request is formatted once (wrk's static
--                 path, no Lua on the hot path). Several lines: every request
--                 is pre-formatted in init() and request() rotates through
--                 them (1,000 distinct bearer tokens, a mix of routes), each
--                 thread starting at a different offset.
-- BENCH_DELAY_MS  optional pause before each request on a connection, for a
--                 fixed offered load (soak mode: wrk has no rate option).
-- BENCH_COUNT_STATUS  when set, count 429 answers and other non-2xx answers
--                 separately (a response() hook per answer: only for the
--                 scenario where the rate limit is reached).
--
-- done() prints one line "BENCH_RESULT {json}" with the counters and the
-- latency percentiles (microseconds) that bench/lib/wrk.ts parses.

local requests_file = os.getenv("BENCH_REQUESTS")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
local count_status = os.getenv("BENCH_COUNT_STATUS") ~= nil

local specs = {}
if requests_file then
  for line in io.lines(requests_file) do
    if line ~= "" then
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
      local headers = {}
      for k = 2, #fields do
        local name, value = string.match(fields[k], "^([^:]+):%s*(.*)$")
        if name then headers[name] = value end
      end
      specs[#specs + 1] = { path = fields[1], headers = headers }
    end
  end
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
  threads[thread_count] = thread
end

if #specs == 1 then
  -- Static request: wrk formats it once and writes the same bytes each time.
  wrk.path = specs[1].path
  for name, value in pairs(specs[1].headers) do wrk.headers[name] = value end
elseif #specs > 1 then
  local formatted = {}
  local count = 0
  local cursor = 0

  function init(args)
    for k = 1, #specs do
      local headers = {}
      for name, value in pairs(specs[k].headers) do headers[name] = value end
      if not headers["Host"] then headers["Host"] = wrk.headers["Host"] end
      formatted[k] = wrk.format("GET", specs[k].path, headers)
    end
    count = #formatted
    -- Spread the threads over the list so they do not send the same token in lockstep.
    local index = thread_index or 1
    cursor = ((index - 1) * 7919) % count
  end

  function request()
    cursor = cursor + 1
    if cursor > count then cursor = 1 end
    return formatted[cursor]
  end
end

if delay_ms then
  function delay()
    return delay_ms
  end
end

if count_status then
  -- Per-thread globals, summed over the threads in done().
  status_429 = 0
  status_other = 0
  function response(status, headers, body)
    if status == 429 then
      status_429 = status_429 + 1
    elseif status < 200 or status > 299 then
      status_other = status_other + 1
    end
  end
end

local function percentile(latency, p)
  return latency:percentile(p)
end

function done(summary, latency, requests)
  local e = summary.errors
  local s429, sother = -1, -1
  if count_status then
    s429, sother = 0, 0
    for _, t in ipairs(threads) do
      s429 = s429 + (t:get("status_429") or 0)
      sother = sother + (t:get("status_other") or 0)
    end
  end
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"status_429":%d,"status_other":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes, s429, sother,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    percentile(latency, 50), percentile(latency, 90), percentile(latency, 99), percentile(latency, 99.9)))
end
