-- wrk script for scripts/bench/sandbox: POST one invitation per request, each to a
-- new email (a second pending invitation to the same address would be a 409).
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  n = 0
  stamp = tostring(os.time())
  headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  local body = string.format('{"email":"bench-%s-%d-%d@bench.example","role":"org_member"}', stamp, tid, n)
  return wrk.format("POST", nil, headers, body)
end
