-- wrk script: replays pre-signed webhook requests from the file in env ZELO_BENCH_REQUESTS, one per line:
-- <webhook-id> TAB <timestamp> TAB <signature> TAB <json body>. Prints its figures as JSON when done.
local requests = {}
local i = 0

function init(args)
  for line in io.lines(os.getenv("ZELO_BENCH_REQUESTS")) do
    local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", "/v1/webhooks/erp", {
      ["webhook-id"] = id, ["webhook-timestamp"] = ts, ["webhook-signature"] = sig,
      ["content-type"] = "application/json",
    }, body)
  end
end

function request()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
