-- --dry-run: the write mode (request.lua) that sends no write. Reads are
-- real; each write is recorded in the plan and answered with a planned
-- record, built from the request (and, for an update, from the current
-- record with the change applied), so that the script's later steps run on
-- it. At exit, finish() prints the plan on stderr (and writes --plan-out).
-- kc.planned(x) tells a planned record from a real one.
--
-- A plan never holds a secret: fields marked `secret` in api.lua (and any
-- field whose name says secret) show as "(secret)" in a line and are left
-- out of the JSON and of planned records.

local api = require("kc.api")

local type, pairs, ipairs, tostring, rawget, setmetatable, error = type, pairs, ipairs, tostring, rawget, setmetatable, error
local concat, sort = table.concat, table.sort

local plan = {}

local kc        -- the kc table (kc.json, kc.null), from start/install
local out       -- --plan-out, or nil
local active = false

local changes = {}                                     -- in the order the script made them
local planned = setmetatable({}, { __mode = "k" })     -- records that are planned (or hold planned changes)
local by_id = {}                                       -- planned id -> its record
local by_path = {}                                     -- a planned record's path (as sent) -> the record
local children = {}                                    -- a collection's path -> the records planned in it
local serial = 0

-- Planned ids cannot be mistaken for real ones: a real id is a 26-character
-- nanoid (letters, digits, _ and -), and these have dots.
local function new_id(what)
  serial = serial + 1
  return ("planned.%s.%d"):format(what, serial)
end

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local match, is_secret = api.route, api.is_secret

local function show(v)
  if v == nil then return "(none)" end
  if kc and v == kc.null then return "null" end
  if type(v) == "string" then
    if v == "" or v:find("[%s\"]") then return ("%q"):format(v) end
    return v
  end
  if type(v) == "table" then return "{...}" end
  return tostring(v)
end

-- A record's name in a line: its natural key, else the first of its shown
-- fields it has, else its id.
local function label_of(r, rec)
  if type(rec) ~= "table" then return nil end
  local keys = { r and r.natural_key }
  for _, f in ipairs(r and r.show or {}) do keys[#keys + 1] = f end
  keys[#keys + 1] = "id"
  for _, k in ipairs(keys) do
    local v = rawget(rec, k)
    if v ~= nil and v ~= (kc and kc.null) then return tostring(v) end
  end
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- The body's fields in the order the operation lists them, then any others.
local function ordered(body, op)
  local keys, seen = {}, {}
  for _, p in ipairs(op and op.params or {}) do
    if body[p.name] ~= nil then
      keys[#keys + 1] = p.name
      seen[p.name] = true
    end
  end
  for _, k in ipairs(sorted_keys(body)) do
    if not seen[k] then keys[#keys + 1] = k end
  end
  return keys
end

local function meta(status)
  return { status = status, request_id = "planned", attempts = 0, planned = true }
end

local function not_found(t)
  return { kind = "api", status = 404, code = "not_found", method = t.method, path = t.path,
    message = "not found (a planned record, under --dry-run)", attempts = 0 }
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- Applies a request body to a record: secrets never enter it (their `_set`
-- companion, when the record has one, says whether one is set).
local function apply(rec, body, op)
  for k, v in pairs(body) do
    if is_secret(k, op.params) then
      rec[k .. "_set"] = v ~= kc.null
    elseif v == kc.null then
      rec[k] = nil
    else
      rec[k] = v
    end
  end
  return rec
end

local function record(change)
  changes[#changes + 1] = change
end

-- The parent's name in a line: "acme", or "service account ci".
local function parent_label(r, params, w)
  local pr = r.parent and api.by_name[r.parent]
  if not pr then return nil end
  local rec = w.parent
  local id = pr.id and params[pr.id]
  if not rec and id then rec = by_id[id] end
  local name = label_of(pr, rec) or id
  if not name then return nil end
  if pr.name == "organizations" then return name end
  return (pr.noun or pr.record) .. " " .. name
end

-- " in service account ci" for an update or a delete of a record nested in
-- another (two credentials can share a name); nothing for one in an
-- organization, which the line's name already tells apart.
local function nested_in(r, params, w)
  if r.parent == "organizations" then return "", nil end
  local parent = parent_label(r, params, w)
  return parent and " in " .. parent or "", parent
end

-- The record an update or a delete is about: the script's, a planned one,
-- or the server's (a read). Returns nil, err when the read fails.
local function current(r, op, t, params, w, transport)
  if w.record then return w.record end
  local id = r.id and params[r.id]
  if id and by_id[id] then return by_id[id] end
  if by_path[t.path] then return by_path[t.path] end
  local get = r.ops.get
  if get and not op.segment and not t.path:find("planned.", 1, true) then
    local ok, value = transport { method = "GET", path = t.path }
    if not ok then return nil, value end
    if type(value) == "table" then return value end
  end
  return nil
end

local function plan_create(r, op, t, body, params, w)
  local rec = {}
  for k, v in pairs(body) do
    if not is_secret(k, op.params) and v ~= kc.null then rec[k] = v end
  end
  for _, f in ipairs(r.fields or {}) do
    if params[f.name] ~= nil and rec[f.name] == nil then rec[f.name] = params[f.name] end
    if f.name == "client_id" and rec.client_id == nil then rec.client_id = new_id("client_id") end
    if f.name == "client_secret" then rec.client_secret = "(planned: no secret under --dry-run)" end
    if f.name:match("_set$") then rec[f.name] = body[f.name:sub(1, -5)] ~= nil and body[f.name:sub(1, -5)] ~= kc.null end
  end
  rec.id = new_id(r.record)
  planned[rec] = true
  by_id[rec.id] = rec
  local path = r.singleton and t.path or (t.path .. "/" .. escape(rec.id))
  by_path[path] = rec
  local list = children[t.path] or {}
  list[#list + 1] = rec
  children[t.path] = list

  -- The line: the natural key, then the other fields (an enum's value bare).
  local name = label_of(r, body) or rec.id
  local extra = {}
  local fields = {}
  for _, k in ipairs(ordered(body, op)) do
    local v = body[k]
    local secret = is_secret(k, op.params)
    if not secret then fields[k] = v end
    if k ~= (r.natural_key or "") and tostring(v) ~= name then
      local enum
      for _, p in ipairs(op.params) do if p.name == k then enum = p.enum end end
      if secret then
        extra[#extra + 1] = k .. " = (secret)"
      elseif enum then
        extra[#extra + 1] = show(v)
      else
        extra[#extra + 1] = k .. " = " .. show(v)
      end
    end
  end
  local parent = parent_label(r, params, w)
  local line = ("+ create %s %s"):format(r.noun or r.record, show(name))
  if #extra > 0 then line = line .. " (" .. concat(extra, ", ") .. ")" end
  if parent then line = line .. " in " .. parent end
  record { action = "create", resource = r.noun or r.record, label = name, parent = parent, method = t.method,
    path = t.path, fields = fields, planned_id = rec.id, line = line }
  return true, rec, meta(201)
end

local function plan_update(r, op, t, body, params, w, transport)
  local cur, err = current(r, op, t, params, w, transport)
  if err then return false, err end
  local rec = apply(copy(cur or {}), body, op)
  if rec.id == nil and r.id then rec.id = params[r.id] end
  planned[rec] = true
  if w.record then planned[w.record] = true end
  if by_id[rec.id] then by_id[rec.id] = rec end
  if by_path[t.path] then by_path[t.path] = rec end

  local diffs, parts = {}, {}
  for _, k in ipairs(ordered(body, op)) do
    if is_secret(k, op.params) then
      diffs[#diffs + 1] = { field = k, secret = true }
      parts[#parts + 1] = k .. " (secret)"
    else
      local from = cur and rawget(cur, k)
      diffs[#diffs + 1] = { field = k, from = from, to = body[k] }
      parts[#parts + 1] = ("%s %s -> %s"):format(k, show(from), show(body[k]))
    end
  end
  local name = label_of(r, cur) or (r.id and params[r.id]) or r.record
  local where, parent = nested_in(r, params, w)
  local line = ("~ update %s %s%s"):format(r.noun or r.record, show(name), where)
  if #parts > 0 then line = line .. ": " .. concat(parts, ", ") end
  record { action = "update", resource = r.noun or r.record, label = name, parent = parent, method = t.method,
    path = t.path, changes = diffs, line = line }
  return true, rec, meta(200)
end

local function plan_delete(r, op, t, params, w, transport)
  local cur, err = current(r, op, t, params, w, transport)
  if err then return false, err end
  local name = label_of(r, cur) or (r.id and params[r.id]) or r.record
  if cur then
    local id = rawget(cur, "id")
    if id then by_id[id] = nil end
  end
  by_path[t.path] = nil
  local where, parent = nested_in(r, params, w)
  record { action = "delete", resource = r.noun or r.record, label = name, parent = parent, method = t.method,
    path = t.path, line = ("- delete %s %s%s"):format(r.noun or r.record, show(name), where) }
  return true, true, meta(204)
end

--- The write mode's write: plans `t` (kc.request's arguments) and answers it.
---@param t kc.RequestArgs
---@param w table what the write is (request.lua's describe)
---@param transport fun(t: table): boolean, any, table?
function plan.write(t, w, transport)
  local method, op, params = w.method, w.op, w.params
  local body = w.body or {}
  if not op then
    -- A write the description does not know: planned by its verb.
    local action = method == "POST" and "create" or method == "DELETE" and "delete" or "update"
    local fields = {}
    for k, v in pairs(body) do if not is_secret(k) then fields[k] = v end end
    local sign = action == "create" and "+" or action == "delete" and "-" or "~"
    record { action = action, resource = "request", label = t.path, method = method, path = t.path, fields = fields,
      line = ("%s %s %s"):format(sign, method, t.path) }
    local answer = {}
    planned[answer] = true
    return true, answer, meta(200)
  end
  local r = op.resource
  if op.returns then
    -- Not a change (the token exchange): an answer of the right shape.
    local answer = { access_token = new_id("token"), token_type = "Bearer", expires_in = 3600 }
    planned[answer] = true
    return true, answer, meta(200)
  end
  if method == "POST" then return plan_create(r, op, t, body, params, w) end
  if method == "DELETE" then return plan_delete(r, op, t, params, w, transport) end
  return plan_update(r, op, t, body, params, w, transport)
end

--- The write mode's read: a read of a planned record or of a collection
--- under one is answered from the plan (the server has neither); any other
--- read is sent (nil).
---@param t kc.RequestArgs
function plan.read(t)
  local path = t.path
  local rec = by_path[path]
  if rec then return true, copy(rec), meta(200) end
  -- Real collections are read from the server (planned records are not in
  -- them); only one under a planned record is answered here.
  if not path:find("planned.", 1, true) then return nil end
  local list = children[path]
  local items = {}
  for _, x in ipairs(list or {}) do
    if by_id[x.id] then
      local c = copy(x)
      planned[c] = true
      items[#items + 1] = c
    end
  end
  local op = match("GET", path)
  if op and not op.item then
    return true, { items = items, page_info = { has_next_page = false, has_prev_page = false } }, meta(200)
  end
  return false, not_found(t)
end

--- Starts a dry run (request.lua calls it for --dry-run).
---@param k table kc
---@param opts {out?: string}
function plan.start(k, opts)
  kc = k
  out = opts.out
  active = true
end

--- True during a dry run: a script's own files are not written either
--- (admin.secret_file).
function plan.active()
  return active
end

--- Adds kc.planned to kc.
function plan.install(k)
  kc = kc or k
  --- kc.planned(x): true when x is a planned record (of --dry-run), one the
  --- server does not have (or not in this state).
  function k.planned(x)
    if type(x) ~= "table" then return false end
    if planned[x] then return true end
    local id = rawget(x, "id")
    return type(id) == "string" and id:sub(1, 8) == "planned." or false
  end
end

--- The plan: its changes (without their lines) and the counts.
function plan.data()
  local counts = { create = 0, update = 0, delete = 0 }
  local list = {}
  for _, c in ipairs(changes) do
    counts[c.action] = counts[c.action] + 1
    local entry = copy(c)
    entry.line = nil
    list[#list + 1] = entry
  end
  return { dry_run = true, changes = list, summary = counts }
end

--- The plan as text, grouped: creates, updates, deletes (each in the order
--- the script made them), then the counts.
function plan.text()
  local counts = { create = 0, update = 0, delete = 0 }
  local lines = {}
  for _, action in ipairs { "create", "update", "delete" } do
    for _, c in ipairs(changes) do
      if c.action == action then
        counts[action] = counts[action] + 1
        lines[#lines + 1] = c.line
      end
    end
  end
  local head = #lines == 0 and "No changes (--dry-run)." or "Planned changes (--dry-run: nothing was written):"
  local text = head .. "\n\n"
  if #lines > 0 then text = text .. concat(lines, "\n") .. "\n\n" end
  return text .. ("Plan: %d to create, %d to update, %d to delete.\n"):format(counts.create, counts.update, counts.delete)
end

--- At exit (ScriptRunner, under --dry-run): prints the plan on stderr and
--- writes --plan-out.
---@param k table kc (read here, so that it is filled and the plan started)
function plan.finish(k)
  local _ = k.json
  io.stderr:write(plan.text())
  if out then
    local data = plan.data()
    data.changes = k.json.array(data.changes)
    local ok, err = pcall(k.json.write, out, data, { pretty = true })
    if not ok then error("--plan-out: " .. tostring(err), 0) end
  end
  return active
end

return plan
