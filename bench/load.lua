-- wrk script for bench.load: every request is a different, correctly signed Stripe event.
-- Args: EVENTS_FILE (lines "signature<TAB>body"). One wrk thread (-t 1) keeps them distinct.
local events = {}
local next_index = 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    events[#events + 1] = {line:sub(1, tab - 1), line:sub(tab + 1)}
  end
end

function request()
  next_index = next_index + 1
  local event = events[((next_index - 1) % #events) + 1]
  return wrk.format("POST", "/webhooks/stripe",
    {["Content-Type"] = "application/json", ["Stripe-Signature"] = event[1]}, event[2])
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
