-- wrk.lua: the request every benchmark row sends, and its summary as one
-- JSON line for bench/run. Set by bench/run through the environment:
--   BENCH_PATH    request path
--   BENCH_GZIP    "1": send Accept-Encoding: gzip
--   BENCH_POST    body size in bytes: POST that many bytes
--   BENCH_SLOW    N: every Nth request adds "?sleep=BENCH_SLOW_MS"
--   BENCH_SLOW_MS milliseconds
local path = os.getenv("BENCH_PATH") or "/"
local slow_every = tonumber(os.getenv("BENCH_SLOW") or "0")
local slow_ms = os.getenv("BENCH_SLOW_MS") or "10"
local post = tonumber(os.getenv("BENCH_POST") or "0")

wrk.path = path
if os.getenv("BENCH_GZIP") == "1" then
   wrk.headers["Accept-Encoding"] = "gzip"
end
if post > 0 then
   wrk.method = "POST"
   wrk.body = string.rep("x", post)
   wrk.headers["Content-Type"] = "application/octet-stream"
end

if slow_every > 0 then
   local fast, slow
   local n = 0
   init = function(args)
      fast = wrk.format(nil, path)
      slow = wrk.format(nil, path .. "?sleep=" .. slow_ms)
   end
   request = function()
      n = n + 1
      if n % slow_every == 0 then
         return slow
      end
      return fast
   end
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d," ..
      "\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d," ..
      "\"timeout\":%d,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d," ..
      "\"max_us\":%d,\"mean_us\":%.1f}\n",
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean))
end
