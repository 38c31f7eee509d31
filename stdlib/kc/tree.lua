-- The resource tree: collections (kc.organizations, org.users, ...), their
-- methods and the records' methods, all derived from the description in
-- api.lua. install(kc) adds them to the native `kc` table (kc.request,
-- kc.request_async, kc.null come from Swift).

local api = require("kc.api")
local check = require("kc.check")
local iter = require("kc.iter")
local records = require("kc.records")
local request = require("kc.request")

local pairs, ipairs, type, error, setmetatable, getmetatable, tostring, select =
  pairs, ipairs, type, error, setmetatable, getmetatable, tostring, select
local sort = table.sort

local tree = {}

-- What a value documents, for help(): method -> operation (or {of =
-- operation, form = "each"} for derived methods); help.install adds kc's
-- other names -> their api.functions entry. Weak: methods live as long as
-- their class.
tree.docs = setmetatable({}, { __mode = "k" })

-- Collection classes by resource name: their methods are shared by every
-- collection object of that resource.
tree.classes = {}

local kc -- the native table, set by install

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function expand(template, ctx)
  return (template:gsub("{([%w_]+)}", function(name) return escape(tostring(ctx[name])) end))
end

local function copy(t)
  local c = {}
  if t then for k, v in pairs(t) do c[k] = v end end
  return c
end

-- Splits checked arguments into the query and body of a request, as the
-- description places them (`query = {email = x}` is sent as query[email]).
local function split(op, args)
  local query, body
  if args then
    for _, p in ipairs(op.params) do
      local v = args[p.name]
      if v ~= nil then
        if p["in"] == "query" then
          query = query or {}
          if p.type == "object" then
            for k, x in pairs(v) do query[p.name .. "[" .. k .. "]"] = x end
          else
            query[p.name] = v
          end
        else
          body = body or {}
          body[p.name] = v
        end
      end
    end
  end
  if not body and (op.verb == "POST" or op.verb == "PATCH") then body = "{}" end
  return query, body
end

-- Argument errors are raised at the caller of the API function (level 3:
-- the caller of the binding that called this).
local function argcheck(op, args, where)
  if args == nil then args = {} end
  if type(args) ~= "table" then
    error(("bad argument to '%s' (table of fields expected, got %s)"):format(where, type(args)), 3)
  end
  local msg = check.args(args, op.params, where, kc.null)
  if msg then error(msg, 3) end
  return args
end

local function idcheck(id, where, what)
  local t = type(id)
  if (t ~= "string" or id == "") and math.type(id) ~= "integer" then
    error(("bad argument #1 to '%s' (%s expected, got %s)"):format(where, what, id == "" and "empty string" or t), 3)
  end
end

local function selfcheck(self, class, where)
  if getmetatable(self) ~= class then
    error(("bad self for '%s' (call it with a colon: %s)"):format(where, where), 3)
  end
end

-- The collection a record method's `self` was reached through; a method
-- called with a dot (org.identities{...}) gets its argument table as self.
local function ownercheck(self, where)
  local coll = records.collection(self)
  if not coll then error(("bad self for '%s' (call it with a colon on a record)"):format(where), 3) end
  return coll
end

-- One request; the answer decoded (true for an empty one). `coll` and `rec`
-- (the collection and record it was made on, when there are) tell a dry
-- run's plan what the write is about.
local function send(op, ctx, args, coll, rec)
  local query, body = split(op, args)
  local t = { method = op.verb, path = expand(op.path, ctx), query = query, body = body }
  -- Live, kc.request it is (a script, or a test, may stand in for it); under
  -- a write mode, the same path with what the tree knows.
  if not request.mode() then return (kc.request(t)) end
  return (request.send(t, { op = op, record = rec, parent = coll and coll._parent }))
end

-- Collections ----------------------------------------------------------------

local Page = { __name = "kc.page" }
Page.__index = Page

function Page:next()
  local info = self.page_info
  if not (info and info.has_next_page and info.end_cursor) then return nil end
  return self._turn({ after = info.end_cursor })
end

function Page:prev()
  local info = self.page_info
  if not (info and info.has_prev_page and info.start_cursor) then return nil end
  return self._turn({ before = info.start_cursor })
end

--- The page's items as an iterator (stages and terminals of kc.iter).
function Page:iter()
  return iter.list(self.items)
end

function Page:__len()
  return #self.items
end

function Page:__tostring()
  local info = self.page_info or {}
  return ("page of %d%s%s"):format(#self.items, info.has_prev_page and ", more before" or "",
    info.has_next_page and ", more after" or "")
end

local function collection(r, ctx, parent_record)
  local class = tree.classes[r.name]
  local coll = setmetatable({ _ctx = ctx, _parent = parent_record }, class)
  coll._mt = records.metatable(r, coll, class._record_methods, class._child, class._complete)
  coll._mt.__params = class._params
  return coll
end

local function wrap(coll, item)
  if type(item) == "table" then setmetatable(item, coll._mt) end
  return item
end

-- Path parameters for the records of `coll` with id `id`.
local function record_ctx(r, coll, id)
  local ctx = copy(coll._ctx)
  if r.id then ctx[r.id] = id end
  return ctx
end

-- Iterators walk forward (from `after`, if given); backward is list{before=}
-- and :prev().
local function forward_only(args, where)
  if args.before ~= nil then
    error(("field 'before' for %s: iterators walk forward; use list{before = ...} and :prev()"):format(where), 3)
  end
end

-- The list-like operations: `list` (one page) and `each` (every page), or,
-- for other paged operations (identities), an iterator only.
local function paged_methods(r, op, class, methods)
  local where_each = r.lua .. ":each"
  local function fetcher(ctx, args)
    local base = select(1, split(op, args)) or {}
    base.after, base.before = nil, nil
    local path = expand(op.path, ctx)
    return function(cursor, async)
      local q = copy(base)
      for k, v in pairs(cursor) do q[k] = v end
      if async then return kc.request_async { method = "GET", path = path, query = q } end
      return (kc.request { method = "GET", path = path, query = q })
    end, base, path
  end
  local function walker(ctx, args, mt)
    local fetch, base, path = fetcher(ctx, args)
    local count
    if op.total_count then
      -- One small request for the server's total instead of every page.
      count = function()
        local q = copy(base)
        q.limit = 1
        local ex = q.expand
        ex = type(ex) == "table" and copy(ex) or (ex and { ex } or {})
        ex[#ex + 1] = "total_count"
        q.expand = ex
        local answer = kc.request { method = "GET", path = path, query = q }
        return answer.pagination and answer.pagination.total_count
      end
    end
    if args.after then
      local first = fetch
      fetch = function(cursor, async)
        if next(cursor) == nil then cursor = { after = args.after } end
        return first(cursor, async)
      end
    end
    return iter.pages(fetch, mt, count)
  end
  if op.name == "list" then
    local where = r.lua .. ":list"
    local function list(self, args)
      selfcheck(self, class, where)
      args = argcheck(op, args, where)
      local fetch = fetcher(self._ctx, args)
      local function turn(cursor)
        local answer = fetch(cursor)
        local items = answer.items or {}
        for i = 1, #items do wrap(self, items[i]) end
        local page = setmetatable({ items = items, page_info = answer.page_info, pagination = answer.pagination }, Page)
        page._turn = turn
        return page
      end
      return turn({ after = args.after, before = args.before })
    end
    local function each(self, args)
      selfcheck(self, class, where_each)
      args = argcheck(op, args, where_each)
      forward_only(args, where_each)
      return walker(self._ctx, args, self._mt)
    end
    class.list, class.each = list, each
    tree.docs[list] = op
    tree.docs[each] = { of = op, form = "each" }
  else
    -- A record method (org:identities{...}) returning an iterator of plain tables.
    local where = r.record .. ":" .. op.name
    local function m(self, args)
      local coll = ownercheck(self, where)
      args = argcheck(op, args, where)
      forward_only(args, where)
      return walker(record_ctx(r, coll, self.id), args, nil)
    end
    methods[op.name] = m
    tree.docs[m] = op
  end
end

-- What a non-paged operation's answer becomes.
local function result(op, answer, coll, rec)
  if op.verb == "DELETE" then return true end
  -- Not a record of this resource: the answer as it is (a list comes as {items = ...}).
  if op.returns then return op.returns.list and (answer.items or {}) or answer end
  if rec then return records.refresh(rec, answer) end
  return wrap(coll, answer)
end

-- The binding of a non-paged operation. `self` is the collection ("collection":
-- its own path parameters; "id": plus the record's ID, the first argument:
-- org.users:get(id)) or a record ("record": user:update{}, whose collection
-- it knows). The checks raise at level 3, the binding's caller, so the
-- binding calls each of them itself.
---@param on "collection"|"id"|"record"
---@param where string the method as the caller wrote it, for messages
local function binding(r, op, class, on, where)
  return function(self, ...)
    local coll, rec, ctx, args
    if on == "record" then
      coll, rec, args = ownercheck(self, where), self, ...
      ctx = record_ctx(r, coll, self.id)
    else
      selfcheck(self, class, where)
      coll = self
      if on == "id" then
        local id
        id, args = ...
        idcheck(id, where, r.id)
        ctx = record_ctx(r, self, id)
      else
        ctx, args = self._ctx, ...
      end
    end
    args = argcheck(op, args, where)
    return result(op, send(op, ctx, args, coll, rec), coll, rec)
  end
end

local function build_class(r)
  local class = { __name = "kc." .. r.name }
  class.__index = class
  local methods = {} -- record methods
  tree.classes[r.name] = class
  class._record_methods = methods

  for _, op in ipairs(r.operations) do
    if op.paged then
      paged_methods(r, op, class, methods)
    else
      if op.on == "record" then
        local m = binding(r, op, class, "record", r.record .. ":" .. op.name)
        methods[op.name] = m
        tree.docs[m] = op
      end
      -- On the collection: every non-paged operation, taking the record's
      -- ID first when it addresses one record (get, and the record's own).
      local f = binding(r, op, class, (op.item and r.id) and "id" or "collection", r.lua .. ":" .. op.name)
      class[op.name] = f
      tree.docs[f] = op
    end
  end

  -- reload: the record as the server has it now (from the get operation).
  local get = r.ops.get
  if get then
    local where = r.record .. ":reload"
    local reload = function(self)
      local coll = ownercheck(self, where)
      return records.refresh(self, send(get, record_ctx(r, coll, self.id), {}))
    end
    methods.reload = reload
    tree.docs[reload] = { of = get, form = "reload" }
  end

  -- Child collections of a record: their path parameters are the record's.
  class._child = function(rec, name)
    local child = api.by_name[name]
    local coll = records.collection(rec)
    return collection(child, record_ctx(r, coll, rec.id), rec)
  end

  local names = {}
  for k in pairs(methods) do names[#names + 1] = k end
  for _, c in ipairs(r.children or {}) do names[#names + 1] = c end
  sort(names)
  class._complete = names
  class._resource = r
  -- Completion data for argument tables: method -> its field names, sorted
  -- (`org.users:update{ro` completes to role).
  local params = {}
  for _, op in ipairs(r.operations) do
    local fields = {}
    for _, p in ipairs(op.params) do fields[#fields + 1] = p.name end
    sort(fields)
    params[op.name] = fields
    if op.paged and op.name == "list" then params.each = fields end
  end
  class._params = params

  class.__tostring = function(self)
    local parent = self._parent
    if parent then return ("%s of %s"):format(r.lua, tostring(parent)) end
    return r.lua
  end
  return class
end

--- Adds the tree to the native `kc` table.
function tree.install(native)
  kc = native
  for _, r in ipairs(api.resources) do build_class(r) end
  -- The collections on kc itself: the resources without a parent.
  for _, r in ipairs(api.resources) do
    if not r.parent then kc[r.name] = collection(r, {}) end
  end
  -- Shortcuts: kc.org(id) is kc.organizations:get(id), kc.org_token(id)
  -- kc.organizations:token(id), checked under their own names.
  for _, f in ipairs(api.functions) do
    if f.op then
      local r = f.op.resource
      local coll, method = kc[r.name], tree.classes[r.name][f.op.name]
      local where = "kc." .. f.name
      kc[f.name] = function(id)
        idcheck(id, where, f.arg)
        return method(coll, id)
      end
    end
  end
  kc.api = api
  -- kc.iter(list), kc.iter(pairs(t)), kc.iter(next_function): the
  -- iterators of each(), for any list or generic-for iterator.
  kc.iter = iter.of
  return kc
end

return tree
