-- wrk script for Keywarden benchmarks: POSTs one fixed body with the Key
-- Protect headers, and prints a machine-readable summary line (KWSTATS) that
-- bench/run.sh parses.
--
-- Environment:
--   KW_BODY      request body (JSON)
--   KW_TOKEN     bearer token (omit for the nginx baseline: it ignores headers anyway)
--   KW_INSTANCE  Bluemix-Instance UUID

local body = os.getenv("KW_BODY") or "{}"
local token = os.getenv("KW_TOKEN")
local instance = os.getenv("KW_INSTANCE") or "6f1c0a3e-5b7d-4e2a-9c8f-0d1e2f3a4b5c"

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Bluemix-Instance"] = instance
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- No response() callback: it would make wrk parse every response in Lua and
-- spend the CPU the server needs. wrk counts non-2xx/3xx itself.
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format(
    "KWSTATS rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d socket_errors=%d duration_s=%.3f\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    secs))
end
