-- kc.request, kc.request_async and kc.Error: the Lua half of a request.
-- KCModule (Swift) sends the request and reads its fields; this module checks
-- the field names, turns failures into kc.Error values and wraps the async
-- handle. Every request of the tree goes through here.

local api = require("kc.api")
local check = require("kc.check")
local parallel = require("kc.parallel")
local confirm = require("kc.confirm")

local type, pairs, ipairs, error, setmetatable, pcall = type, pairs, ipairs, error, setmetatable, pcall

local request = {}

-- The fields kc.request takes; Swift checks their values.
local fields = { "auth", "body", "headers", "method", "once", "path", "query", "raw", "request_id", "retries", "token" }
local known = {}
for _, name in ipairs(fields) do known[name] = true end

---@param t table
---@param who string "request" or "request_async", for the messages
local function check_fields(t, who)
  if type(t) ~= "table" then
    error("bad argument #1 to '" .. who .. "' (table expected, got " .. type(t) .. ")", 3)
  end
  for k in pairs(t) do
    if not known[k] then
      local name = type(k) == "string" and k or type(k)
      local s = type(k) == "string" and check.suggest(k, fields)
      -- Level 0, as before: the message says where (kc.request), not a line.
      error("kc.request: unknown field '" .. name .. "'" .. (s and (" (did you mean '" .. s .. "'?)") or ""), 0)
    end
  end
end

-- The write mode (DESIGN.md, "Bulk runs"): nil when writes are sent as they
-- come, or the module of --dry-run (kc.plan) or --journal (kc.journal): its
-- write(t, w, transport) answers every write (ok, value, meta, as the
-- transport does; `w` is what the write is, from `describe`), and read(t),
-- if it has one, may answer a read (nil: send it).
local mode

local raw, raw_async -- the native functions, from install
local kc             -- the kc table, from install
local Error          -- kc.Error, from install

---@param value any the error: a table of fields, or a message
---@param level integer
local function raise(value, level)
  if type(value) == "table" then error(setmetatable(value, Error), level + 1) end
  error(value, level + 1)
end

-- The transport: (ok, value, meta), or (false, error). In a kc.parallel task
-- the request travels while other tasks run.
local function transport(t)
  confirm.check(kc, t) -- confirm_writes: a write asks first (at the REPL)
  local sched = parallel.current()
  if sched then return sched.await(sched.start(t)) end
  return raw(t)
end

-- What a write is, worked out once for the mode: its method (upper case);
-- its operation in the description (the tree's, else found by its path; nil
-- for a path the description does not know) and the path's parameters; its
-- body as a table (a JSON string decoded; nil when there is none or it is
-- not JSON); and what the tree knows (the record and the parent it was made
-- on).
---@return {method: string, op?: kc.api.Operation, params: table<string, string>, body?: table, record?: table, parent?: table}
local function describe(t, hint)
  local method = t.method:upper()
  local op, params = api.route(method, t.path)
  if hint and hint.op then op = hint.op end
  local body = t.body
  if type(body) == "string" then
    local ok, decoded = pcall(kc.json.decode, body)
    body = ok and decoded or nil
  end
  return { method = method, op = op, params = params or {}, body = type(body) == "table" and body or nil,
    record = hint and hint.record, parent = hint and hint.parent }
end

local function is_write(t)
  local m = t.method
  return m ~= nil and m ~= "GET" and m ~= "get" and m ~= "HEAD" and m ~= "head"
end

-- Under a write mode, its answer to `t` (a write's always, a read's maybe);
-- nil: send it. `hint` is what the tree knows of a write: {op, record,
-- parent}.
local function by_mode(t, hint)
  if not mode then return nil end
  if is_write(t) then return mode.write(t, describe(t, hint), transport) end
  if mode.read then return mode.read(t) end
end

-- The one path of every request: the tree's, kc.request's, request_async's
-- and kc.parallel tasks'. A write goes to the mode, when there is one.
local function call(t, hint)
  local ok, value, meta = by_mode(t, hint)
  if ok ~= nil then return ok, value, meta end
  return transport(t)
end

--- A request from the tree: kc.request's answer (or error), with what the
--- tree knows of it (for a plan's lines and records).
---@param t kc.RequestArgs
---@param hint? {op: kc.api.Operation, record?: table, parent?: table}
function request.send(t, hint)
  local ok, value, meta = call(t, hint)
  if ok then return value, meta end
  raise(value, 2)
end

--- Sets the write mode (nil: live).
function request.set_mode(m) mode = m end

--- The write mode, or nil.
function request.mode() return mode end

--- Adds kc.Error, kc.request and kc.request_async to `kc`.
---@param kc table the native kc table
---@param native {request: function, request_async: function, describe_error: function, dry_run?: boolean, plan_out?: string}
function request.install(kc_table, native)
  kc = kc_table
  raw, raw_async = native.request, native.request_async

  -- API failures are tables (status, code, message, method, path,
  -- request_id, attempts, kind), so pcall gets structure; tostring gives one
  -- line, formatted by the client (KeycardError.describe).
  ---@class kc.Error
  Error = { __name = "kc.error", __tostring = native.describe_error }
  Error.__index = Error
  kc.Error = Error

  if native.journal then mode = require("kc.journal").start(kc, native) end
  if native.dry_run then
    local plan = require("kc.plan")
    plan.start(kc, { out = native.plan_out })
    mode = plan
  end

  --- kc.request{method=, path=, query=, body=, retries=, token=, auth=,
  --- headers=, raw=}: the decoded answer (true when it is empty; with
  --- raw = true, its bytes as a string), and {status, request_id, attempts}.
  ---@param t kc.RequestArgs
  ---@return any, kc.Meta
  function kc.request(t)
    check_fields(t, "request")
    local ok, value, meta = call(t)
    if ok then return value, meta end
    raise(value, 2)
  end

  --- A request in flight, from kc.request_async.
  ---@class kc.Pending
  ---@field private _join? fun(): boolean?, any, kc.Meta?
  ---@field private _cancel fun()
  local Pending = { __name = "kc.pending" }
  Pending.__index = Pending

  --- Returns (or raises) what kc.request would.
  ---@return any, kc.Meta
  function Pending:wait()
    local join = self._join
    if join then
      self._join = nil
      self._ok, self._value, self._meta = join()
    end
    if self._ok then return self._value, self._meta end
    if self._ok == nil then error("kc.request_async: the request was cancelled", 2) end
    raise(self._value, 2)
  end

  --- Cancels the request (a transfer in flight stops; wait() then raises).
  function Pending:cancel()
    if self._join then
      self._join = nil
      self._cancel()
    end
  end

  --- kc.request_async{...}: like kc.request, but answers at once with a
  --- handle; handle:wait() returns (or raises) what kc.request would. The
  --- transfer runs on the client's I/O thread meanwhile.
  ---@param t kc.RequestArgs
  ---@return kc.Pending
  function kc.request_async(t)
    check_fields(t, "request_async")
    -- A mode's answer: the handle holds it already.
    local ok, value, meta = by_mode(t)
    if ok ~= nil then return setmetatable({ _ok = ok, _value = value, _meta = meta }, Pending) end
    local sched = parallel.current()
    if sched then
      local id = sched.start(t)
      return setmetatable({
        _join = function() return sched.await(id) end,
        _cancel = function() sched.cancel(id) end,
      }, Pending)
    end
    local join, cancel = raw_async(t)
    return setmetatable({ _join = join, _cancel = cancel }, Pending)
  end
end

return request
