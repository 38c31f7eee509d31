-- Confirmation of writes: on a profile marked `confirm_writes = true`, a
-- write typed at the REPL asks `delete user ana@acme.com in acme? [y/N]`
-- before it is sent. Scripts are unaffected unless they opt in with
-- kc.confirm_writes(true). kc.request calls check() for every request; a
-- write also drops the completer's cached values of its collection.

local api = require("kc.api")
local redact = require("kc.redact")

local M = {
  --- The REPL sets it: writes are typed at a prompt.
  at_prompt = false,
  --- kc.confirm_writes(on): true or false beats the profile; nil follows it.
  opted = nil,
}

-- (pattern, resource, operation) for every operation, most specific first.
local routes
local function route(method, path)
  if not routes then
    routes = {}
    for _, r in ipairs(api.resources) do
      for _, op in ipairs(r.operations) do
        local names = {}
        local pattern = "^" .. op.path:gsub("[%-%.]", "%%%0"):gsub("{([%w_]+)}", function(n)
          names[#names + 1] = n
          return "([^/]+)"
        end) .. "$"
        routes[#routes + 1] = { pattern = pattern, names = names, r = r, op = op }
      end
    end
  end
  local bare = path:gsub("%?.*$", "")
  for _, x in ipairs(routes) do
    if x.op.verb == method then
      local caps = { bare:match(x.pattern) }
      if caps[1] then
        local params = {}
        for i, n in ipairs(x.names) do params[n] = caps[i] end
        return x.r, x.op, params
      end
    end
  end
end

local function show(r, rec)
  if type(rec) ~= "table" then return nil end
  -- the first field tostring shows (an email, a name), else the id
  for _, f in ipairs(r.show or {}) do
    local v = rec[f]
    if v ~= nil and type(v) ~= "table" then return tostring(v) end
  end
  return rec.id
end

local function fetch(kc, path)
  local ok, v = pcall(kc.request, { method = "GET", path = path })
  return ok and v or nil
end

--- The question for a write: `delete user ana@acme.com in acme`.
function M.describe(kc, t)
  local method = (t.method or "GET"):upper()
  local r, op, params = route(method, t.path or "")
  if not r then return ("%s %s"):format(method, t.path or "?") end
  local subject
  if op.item then
    local item = r.item_path:gsub("{([%w_]+)}", function(n) return params[n] end)
    subject = show(r, fetch(kc, item)) or (r.id and params[r.id])
  elseif type(t.body) == "table" then
    subject = t.body.email or t.body.name or t.body.identifier
  end
  local text = op.name .. " " .. r.record .. (subject and (" " .. tostring(subject)) or "")
  local org = params.organization_id
  if org and r.name ~= "organizations" then
    local o = fetch(kc, "/organizations/" .. org)
    text = text .. " in " .. tostring(type(o) == "table" and o.label or org)
  end
  if method == "PATCH" and type(t.body) == "table" then
    local changes = {}
    for k, v in pairs(t.body) do
      changes[#changes + 1] = ("%s = %s"):format(k, type(v) == "string" and ("%q"):format(v) or tostring(v))
    end
    table.sort(changes)
    if changes[1] then text = text .. " (" .. redact.text(table.concat(changes, ", ")) .. ")" end
  end
  return text
end

--- Whether writes are confirmed now.
function M.enabled(kc)
  if M.opted ~= nil then return M.opted end
  if not M.at_prompt then return false end
  local ok, c = pcall(kc.config)
  return ok and c.confirm_writes == true
end

--- Asks before a write is sent, when confirmation is on; raises when the
--- answer is not yes, so nothing is sent.
function M.check(kc, t)
  local method = type(t) == "table" and t.method and t.method:upper() or "GET"
  if method == "GET" then return end
  -- a write: the completer's live values of that collection are stale
  local complete = package.loaded["kc.complete"]
  if complete and type(t.path) == "string" then complete.forget((t.path:gsub("%?.*$", ""))) end
  if not M.enabled(kc) then return end
  local question = M.describe(kc, t)
  io.stdout:write(question, "? [y/N] ")
  io.stdout:flush()
  local answer = io.stdin:read("l")
  if answer and answer:match("^%s*[yY]") then return end
  if not answer then io.stdout:write("\n") end
  error("not sent: " .. question .. " (not confirmed)", 0)
end

--- Adds kc.confirm_writes.
function M.install(kc)
  kc.confirm_writes = function(on)
    if on ~= nil and type(on) ~= "boolean" then
      error("kc.confirm_writes: expects a boolean or nil, not a " .. type(on), 2)
    end
    M.opted = on
  end
end

return M
