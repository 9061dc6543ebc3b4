-- wrk script: sends the pre-built carrier pushes in the file named by env ZELO_BENCH_REQUESTS, one per line:
-- <path> TAB <auth header name> TAB <its value> TAB <json body>. Each push is sent once; wrk stops once every one
-- is answered. Connections still open after the last one resend from the top: those answers are replays
-- (200 with Push-Replayed), counted apart. The push ids of the 202 answers go to the file named by env
-- ZELO_BENCH_ACKED, one a line. Prints its figures as JSON when done; ``seconds`` is from the first request sent
-- to the last push answered (wrk's own duration would run on to its -d). With env ZELO_BENCH_DELAY_MS, each
-- connection waits that long after an answer before its next push (an offered rate below the door's capacity).
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_usec; } zelo_timeval;
  int gettimeofday(zelo_timeval *tv, void *tz);
  int kill(int pid, int sig);
  int getpid(void);
]]
local function now()
  local tv = ffi.new("zelo_timeval")
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end
local pause = tonumber(os.getenv("ZELO_BENCH_DELAY_MS") or "0")
local requests = {}
local acked = {}
local i = 0
local threads = {}
accepted, replays, refused, first, last = 0, 0, 0, 0, 0 -- globals: done() reads them with thread:get

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(os.getenv("ZELO_BENCH_REQUESTS")) do
    local path, name, value, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", path, {
      [name] = value, ["content-type"] = "application/json",
    }, body)
  end
end

function delay()
  return pause
end

function request()
  if first == 0 then first = now() end
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
    acked[#acked + 1] = body:match('"push_id":%s*(%d+)')
  elseif status == 200 and (headers["push-replayed"] or headers["Push-Replayed"]) == "true" then
    replays = replays + 1
  else
    refused = refused + 1
  end
  if accepted + refused == #requests then
    last = now()
    local f = assert(io.open(os.getenv("ZELO_BENCH_ACKED"), "w"))
    f:write(table.concat(acked, "\n"), "\n")
    f:close()
    ffi.C.kill(ffi.C.getpid(), 2) -- SIGINT: wrk's main thread stops sleeping out -d and prints its figures
  end
end

function done(summary, latency, requests)
  local t = threads[1]
  local seconds = summary.duration / 1e6 -- not every push answered (timeouts): wrk ran to its -d
  if t:get("last") > 0 then seconds = t:get("last") - t:get("first") end
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "accepted": %d, "replays": %d, "refused": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, seconds, t:get("accepted"), t:get("replays"), t:get("refused"),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
