-- wrk script of benchmarks/bench_serve.py: each request books a dose for a new person (thread
-- number and a counter) on one of the slots given, with the Bearer token given:
--   wrk -s bench_serve.lua URL -- TOKEN SLOT_ID[,SLOT_ID...]
-- At the end it prints one JSON line: the answers counted by status, the 503s without
-- Retry-After, socket errors and latency percentiles (microseconds).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("number", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  token = args[1]
  slots = {}
  for slot in string.gmatch(args[2], "[^,]+") do table.insert(slots, slot) end
  sent = 0
  s201, s409, s503, s5xx, other, no_retry_after = 0, 0, 0, 0, 0, 0
  headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
end

function request()
  sent = sent + 1
  local slot = slots[(sent % #slots) + 1]
  local body = string.format('{"user":"w%d-%d","slot_id":%s}', number, sent, slot)
  return wrk.format("POST", "/v1/reservations", headers, body)
end

function response(status, headers, body)
  if status == 201 then s201 = s201 + 1
  elseif status == 409 then s409 = s409 + 1
  elseif status == 503 then
    s503 = s503 + 1
    if headers["Retry-After"] == nil and headers["retry-after"] == nil then no_retry_after = no_retry_after + 1 end
  elseif status >= 500 then s5xx = s5xx + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local total = {s201 = 0, s409 = 0, s503 = 0, s5xx = 0, other = 0, no_retry_after = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(total) do total[name] = total[name] + thread:get(name) end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"s201":%d,"s409":%d,"s503":%d,"s5xx":%d,"other":%d,' ..
    '"no_retry_after":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, total.s201, total.s409, total.s503, total.s5xx, total.other,
    total.no_retry_after, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
