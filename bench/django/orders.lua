-- wrk script for scripts/bench django: POSTs orders to the food-delivery view (/orders).
--   wrk -t1 -c200 -d8s --latency -s orders.lua http://127.0.0.1:PORT -- CSRFTOKEN NKEYS PREFIX
-- CSRF: the token is a real one the harness got from GET / (Django's csrftoken cookie); it is
-- sent back as the cookie and as X-CSRFToken, like the page's fetch() does, so Django's
-- CsrfViewMiddleware checks every request (no exemption). The customer cookie cycles through
-- NKEYS keys PREFIX0..PREFIX<NKEYS-1>: the harness holds one WebSocket client per key.
-- At the end it prints "BENCH sent S ok O other X": requests written, 2xx and other answers.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  csrf = args[1]
  nkeys = tonumber(args[2])
  prefix = args[3]
  sent = 0
  ok = 0
  other = 0
  body = '{"dish": "margherita", "quantity": 2, "address": "1 bench street"}'
end

function request()
  local key = prefix .. (sent % nkeys)
  sent = sent + 1
  return wrk.format("POST", "/orders", {
    ["Content-Type"] = "application/json",
    ["X-CSRFToken"] = csrf,
    ["Cookie"] = "csrftoken=" .. csrf .. "; customer=" .. key,
  }, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local s, o, x = 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent")
    o = o + t:get("ok")
    x = x + t:get("other")
  end
  -- wrk calls request() once more on the first thread before it starts, to check the request
  -- (script_verify_request in wrk.c): that one is never written.
  io.write(string.format("BENCH sent %d ok %d other %d\n", s - 1, o, x))
end
