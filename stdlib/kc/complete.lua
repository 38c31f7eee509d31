-- Completion that knows the account, for the REPL's Tab (Completion.swift
-- asks here first, then completes names itself):
--
-- - live values in a string argument: kc.org(" completes organization
--   labels, org.users:get(" user IDs (their emails shown), and the same for
--   invitations, service accounts and credentials; fetched only on a Tab,
--   with a hard time limit (LIMIT_MS), cached for the session, dropped after
--   a write to that collection;
-- - enum values: {role = " completes org_admin, org_member, org_viewer, and
--   every enum field of the description likewise;
-- - after a call: kc.org("acme"): and org.users:get(id). complete from the
--   type the description says the call returns, without making the call.

local api = require("kc.api")

local type, ipairs, pairs, rawget, getmetatable, tostring = type, ipairs, pairs, rawget, getmetatable, tostring
local sort = table.sort

local M = {}

--- The prompt never waits longer than this for live values.
M.LIMIT_MS = 300

local native_within -- native.request_within(t, ms), from install

-- Live values, by collection path: { items = {{value, note}}, at = ... }.
local cache = {}
M.cache = cache

--- Forgets the live values under `path` (after a write to it).
function M.forget(path)
  for p in pairs(cache) do
    if p == path or p:sub(1, #path + 1) == path .. "/" or path:sub(1, #p + 1) == p .. "/" then cache[p] = nil end
  end
end

-- Enum values by field name, from every parameter and field.
local enums = {}
api.each_field(function(p)
  if p.enum then
    enums[p.name] = enums[p.name] or {}
    for _, v in ipairs(p.enum) do enums[p.name][v] = true end
  end
end)

local by_class = {} -- "kc.users" -> resource
local by_record = {} -- "kc.user" -> resource
for _, r in ipairs(api.resources) do
  by_class["kc." .. r.name] = r
  by_record["kc." .. r.record] = r
end

local function mtname(v)
  local mt = type(v) == "table" and getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__name") or nil
end

local function sorted(set, prefix)
  local out = {}
  for k in pairs(set) do
    if k:sub(1, #prefix) == prefix then out[#out + 1] = k end
  end
  sort(out)
  return out
end

-- Live values ----------------------------------------------------------------

-- The note shown beside a live value: the record's first shown field that
-- is not the value itself.
local function note(r, item, value)
  for _, f in ipairs(r.show or {}) do
    local v = item[f]
    if type(v) == "string" and v ~= "" and v ~= value then return v end
  end
end

-- The items of the collection at `path` (one page of up to 100), from the
-- cache or fetched within the limit; nil when they could not be had in time.
local function live(r, path, key)
  local hit = cache[path]
  if hit then return hit end
  if not native_within then return nil end
  local ok, answer = native_within({ method = "GET", path = path, query = { limit = 100 } }, M.LIMIT_MS)
  if not ok or type(answer) ~= "table" then return nil end
  local items = {}
  for _, item in ipairs(answer.items or {}) do
    local v = item[key]
    if type(v) == "string" then items[#items + 1] = { value = v, note = note(r, item, v) } end
  end
  cache[path] = items
  return items
end

local function live_candidates(items, prefix)
  local out, notes = {}, {}
  for _, it in ipairs(items or {}) do
    if it.value:sub(1, #prefix) == prefix then
      out[#out + 1] = it.value
      notes[it.value] = it.note
    end
  end
  sort(out)
  return out, notes
end

-- The collection object named by a dotted chain of globals (`org.users`,
-- `acme.service_accounts`): read raw, and through a record's __index for
-- its listed children only (no request is made).
local function value_of(chain)
  local v = _G
  for name in chain:gmatch("[^%.]+") do
    if type(v) ~= "table" then return nil end
    local x = rawget(v, name)
    if x == nil then
      local mt = getmetatable(v)
      local listed = type(mt) == "table" and rawget(mt, "__complete")
      local ok = false
      for _, n in ipairs(type(listed) == "table" and listed or {}) do
        if n == name then ok = true end
      end
      if not ok then return nil end
      x = v[name]
    end
    v = x
  end
  return v
end

local function expand(path, ctx)
  local missing = false
  local out = path:gsub("{([%w_]+)}", function(n)
    local v = ctx[n]
    if v == nil then missing = true return "" end
    return tostring(v)
  end)
  if missing then return nil end
  return out
end

local function string_argument(before)
  -- kc.org("pre  /  kc.organizations:get('pre
  local prefix = before:match("kc%.org%(%s*[\"']([^\"']*)$")
    or before:match("kc%.org_token%(%s*[\"']([^\"']*)$")
    or before:match("kc%.organizations:get%(%s*[\"']([^\"']*)$")
  if prefix then
    local r = api.by_name.organizations
    local out, notes = live_candidates(live(r, "/organizations", "label"), prefix)
    return out, notes, prefix
  end
  -- <chain>.<collection>:<get|update|delete|...>("pre
  local chain, coll, method, pre = before:match("([%a_][%w_%.]*)%.([%a_][%w_]*):([%a_][%w_]*)%(%s*[\"']([^\"']*)$")
  if not chain then
    chain, method, pre = before:match("([%a_][%w_%.]*):([%a_][%w_]*)%(%s*[\"']([^\"']*)$")
  end
  if not chain then return nil end
  local c = value_of(coll and (chain .. "." .. coll) or chain)
  local r = by_class[mtname(c)]
  if not (r and r.id) then return nil end
  local op = r.ops[method]
  if not (op and op.item) then return nil end
  local path = expand(r.path, rawget(c, "_ctx") or {})
  if not path then return nil end
  local out, notes = live_candidates(live(r, path, "id"), pre)
  return out, notes, pre
end

-- Enum values ----------------------------------------------------------------

local function enum_value(before)
  local name, pre = before:match("([%a_][%w_]*)%s*=%s*[\"']([%w_%-%.]*)$")
  if not name then
    -- a comparison: u.role == "org_
    name, pre = before:match("%.([%a_][%w_]*)%s*[=~]=%s*[\"']([%w_%-%.]*)$")
  end
  if not (name and enums[name]) then return nil end
  return sorted(enums[name], pre), pre
end

-- After a call -----------------------------------------------------------------

-- The start of the expression that ends `text`: back over names, dots,
-- colons, balanced brackets and simple strings.
local function expression(text)
  local i, depth = #text, 0
  while i >= 1 do
    local c = text:sub(i, i)
    if c == ")" or c == "}" or c == "]" then
      depth = depth + 1
    elseif c == "(" or c == "{" or c == "[" then
      if depth == 0 then break end
      depth = depth - 1
    elseif c == '"' or c == "'" then
      local j = i - 1
      while j >= 1 and text:sub(j, j) ~= c do j = j - 1 end
      i = j
    elseif depth == 0 and not c:match("[%w_%.:]") then
      break
    end
    i = i - 1
  end
  return text:sub(i + 1)
end

-- The shape of a value: {kind = "record"|"collection"|"page"|"type", r = ...}.
local function shape_of_value(v)
  local name = mtname(v)
  if by_record[name] then return { kind = "record", r = by_record[name] } end
  if by_class[name] then return { kind = "collection", r = by_class[name] } end
  if name == "kc.page" then return { kind = "page" } end
end

local function result_of(shape, opname)
  local r = shape.r
  local op = r and r.ops[opname]
  if not op then
    if shape.kind == "record" and opname == "reload" then return shape end
    return nil
  end
  if op.returns then
    for _, t in ipairs(api.types or {}) do
      if t.name == op.returns.type then return { kind = "type", t = t, list = op.returns.list } end
    end
    return nil
  end
  if op.paged and shape.kind == "collection" and opname == "list" then return { kind = "page" } end
  if op.paged then return { kind = "iter" } end
  return { kind = "record", r = r }
end

local function value_of_field(t, k)
  return rawget(t, k)
end

-- Walks `expr` (`kc.org("acme")`, `org.users:get(id)`) by the description.
local function shape_of(expr)
  local pos = 1
  local name = expr:match("^[%a_][%w_]*")
  if not name then return nil end
  pos = #name + 1
  local shape
  local value = rawget(_G, name)
  if name == "kc" then
    shape = { kind = "kc" }
  else
    shape = shape_of_value(value)
    if not shape then shape = { kind = "value", v = value } end
  end
  while pos <= #expr do
    local sep, word = expr:match("^([%.:])([%a_][%w_]*)", pos)
    if not sep then return nil end
    pos = pos + #sep + #word
    local args = expr:match("^%b()", pos) or expr:match("^%b{}", pos) or expr:match("^%b\"\"", pos)
      or expr:match("^%b''", pos)
    if shape.kind == "kc" then
      if word == "org" or word == "organizations" then
        shape = word == "org" and { kind = "callable", r = api.by_name.organizations }
          or { kind = "collection", r = api.by_name.organizations }
      else
        return nil
      end
    elseif shape.kind == "value" then
      local v = type(shape.v) == "table" and value_of_field(shape.v, word)
      shape = shape_of_value(v) or { kind = "value", v = v }
    elseif shape.kind == "record" and sep == "." and not args then
      local child
      for _, c in ipairs(shape.r.children or {}) do if c == word then child = api.by_name[c] end end
      if not child then return nil end
      shape = { kind = "collection", r = child }
    elseif args then
      shape = result_of(shape, word)
      if not shape then return nil end
    else
      return nil
    end
    if args then
      pos = pos + #args
      if shape.kind == "callable" then shape = { kind = "record", r = shape.r } end
    end
  end
  return shape
end

local function names_of(shape, colon, prefix)
  local set = {}
  if shape.kind == "record" then
    local r = shape.r
    for _, op in ipairs(r.operations) do
      if op.on == "record" then set[op.name] = true end
    end
    set.reload = true
    if not colon then
      for _, f in ipairs(r.fields) do set[f.name] = true end
      for _, c in ipairs(r.children or {}) do set[c] = true end
    end
  elseif shape.kind == "collection" then
    for _, op in ipairs(shape.r.operations) do set[op.name] = true end
    for _, op in ipairs(shape.r.operations) do if op.paged then set.each = true end end
  elseif shape.kind == "page" then
    for _, n in ipairs { "next", "prev", "iter" } do set[n] = true end
    if not colon then set.items = true set.page_info = true end
  elseif shape.kind == "iter" then
    for _, n in ipairs { "filter", "map", "take", "skip", "enumerate", "collect", "count", "first", "fold",
      "any", "all", "find" } do set[n] = true end
  elseif shape.kind == "type" and not colon and not shape.list then
    for _, f in ipairs(shape.t.fields) do set[f.name] = true end
  else
    return nil
  end
  return sorted(set, prefix)
end

local function after_call(before)
  local head, sep, word = before:match("^(.-%))([%.:])([%a_]?[%w_]*)$")
  if not head then return nil end
  local expr = expression(head)
  if expr == "" then return nil end
  local shape = shape_of(expr)
  if not shape then return nil end
  local out = names_of(shape, sep == ":", word)
  if not out then return nil end
  return out, word
end

--- Candidates for the text before the cursor: (list, word, notes) or nil
--- when this module has nothing to say (Completion.swift then completes
--- names). `word` is the part of the text the candidates replace.
function M.complete(before)
  local list, notes, word = string_argument(before)
  if list then return list, word, notes end
  list, word = enum_value(before)
  if list then return list, word, {} end
  list, word = after_call(before)
  if list then return list, word, {} end
  return nil
end

--- Keeps native.request_within; a write through kc.request drops the
--- cached values of its collection.
function M.install(kc, native)
  native_within = native.request_within
end

return M
