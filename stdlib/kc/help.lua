-- help(): what an operation, collection or record does, from the
-- description. The signature and parameter lines here are also what
-- scripts/gen-reference.lua prints, so the REPL and the docs agree.

local api = require("kc.api")
local check = require("kc.check")
local tree = require("kc.tree")
local records = require("kc.records")

local concat, ipairs, type, getmetatable, rawget = table.concat, ipairs, type, getmetatable, rawget

local help = {}

-- The methods a resource offers, in description order: {call, op, form}.
-- form is nil for the operation itself, "each" / "reload" for derived ones.
-- call is the first of help.signatures(op, form).
function help.methods(r)
  local out = {}
  local function add(op, form)
    out[#out + 1] = { call = help.signatures(op, form)[1], op = op, form = form }
  end
  for _, op in ipairs(r.operations) do
    add(op)
    if op.paged and op.name == "list" then add(op, "each") end
  end
  if r.ops.get then add(r.ops.get, "reload") end
  return out
end

-- The first sentence of a doc text, for one-line lists.
---@param doc string
---@return string
function help.summary(doc)
  return (doc:gsub("%. .*", "."))
end

-- The ways to call an operation, one per line: the record's method, the
-- collection's, and the shortcuts on kc made of it (kc.org).
function help.signatures(op, form)
  local r = op.resource
  local hasp = #op.params > 0
  if form == "reload" then return { r.record .. ":reload()" } end
  if form == "each" then return { r.lua .. ":each" .. (hasp and "{...}" or "()") } end
  local f = hasp and "{...}" or "()"
  local s = {}
  if op.on == "record" then s[1] = r.record .. ":" .. op.name .. f end
  if not op.paged or op.on == "collection" then
    if op.item and r.id then
      s[#s + 1] = r.lua .. ":" .. op.name .. "(" .. r.id .. (hasp and ", {...})" or ")")
    else
      s[#s + 1] = r.lua .. ":" .. op.name .. f
    end
  end
  for _, fn in ipairs(api.functions) do
    if fn.op == op then s[#s + 1] = fn.call end
  end
  return s
end

-- Parameter rows {name, type text, where, doc}, nested fields flattened
-- with dotted names; `form` as for signatures (each takes no cursors,
-- reload no fields).
function help.params(op, form)
  local rows = {}
  if form == "reload" then return rows end
  local function add(params, prefix, where)
    for _, p in ipairs(params) do
      local name = prefix .. p.name
      local t = check.typetext(p)
      if p.type == "object" then t = "table" end
      rows[#rows + 1] = { name = name, type = t, where = where or p["in"], required = p.required, doc = p.doc or "" }
      if p.fields then add(p.fields, name .. ".", where or p["in"]) end
    end
  end
  add(op.params, "")
  if form == "each" then
    local kept = {}
    for _, row in ipairs(rows) do
      if row.name ~= "after" and row.name ~= "before" then kept[#kept + 1] = row end
    end
    rows = kept
  end
  return rows
end

-- What an operation answers, when it is not a record of its resource:
-- "TokenResponse", "Role[]", "an iterator of Identity".
function help.returns(op)
  local t = op.returns.type .. (op.returns.list and "[]" or "")
  return op.paged and ("an iterator of " .. t) or t
end

local function indent(text, pad)
  return pad .. text:gsub("\n", "\n" .. pad)
end

-- What the derived methods do (they have no entry of their own in api.lua).
help.derived_doc = {
  each = "Every item of every page, fetched lazily (the next page is requested while you work on this one). " ..
    "Works in a generic for; chains filter, map, take, skip, enumerate, collect, count, first, fold, any, all, find.",
  reload = "Fetch the record again; it is updated in place.",
}

local function op_text(op, form)
  local r = op.resource
  local lines = {}
  for _, s in ipairs(help.signatures(op, form)) do lines[#lines + 1] = s end
  local doc = form and help.derived_doc[form] or op.doc
  lines[#lines + 1] = "  " .. doc
  lines[#lines + 1] = "  " .. op.verb .. " " .. op.path
  local rows = help.params(op, form)
  if #rows > 0 then
    lines[#lines + 1] = "  Fields:"
    local width = 0
    for _, row in ipairs(rows) do if #row.name > width then width = #row.name end end
    for _, row in ipairs(rows) do
      lines[#lines + 1] = ("    %-" .. width .. "s  %s%s"):format(row.name, row.type, row.required and ", required" or "")
      if row.doc ~= "" then lines[#lines + 1] = ("    %-" .. width .. "s  %s"):format("", row.doc) end
    end
  end
  if op.returns then lines[#lines + 1] = "  Returns: " .. help.returns(op) end
  if op.example and form == nil then
    lines[#lines + 1] = "  Example:"
    lines[#lines + 1] = indent(op.example, "    ")
  elseif form == "each" and r.ops.list then
    lines[#lines + 1] = "  Example:"
    lines[#lines + 1] = "    for " .. r.record .. " in " .. r.lua .. ":each() do print(" .. r.record .. ") end"
  end
  return concat(lines, "\n")
end

local function resource_text(r)
  local lines = { r.lua .. " -- " .. r.doc }
  local fields = {}
  for _, f in ipairs(r.fields) do fields[#fields + 1] = f.name end
  lines[#lines + 1] = "  Records (" .. r.record .. ", " .. r.type .. "): " .. concat(fields, ", ")
  lines[#lines + 1] = "  Methods:"
  local ms = help.methods(r)
  local width = 0
  for _, m in ipairs(ms) do if #m.call > width then width = #m.call end end
  for _, m in ipairs(ms) do
    local doc = m.form and help.derived_doc[m.form] or m.op.doc
    lines[#lines + 1] = ("    %-" .. width .. "s  %s"):format(m.call, help.summary(doc))
  end
  if r.children then
    local kids = {}
    for _, c in ipairs(r.children) do kids[#kids + 1] = r.record .. "." .. c end
    lines[#lines + 1] = "  Children: " .. concat(kids, ", ")
  end
  lines[#lines + 1] = ('  More: help("%s.%s")'):format(r.name, r.operations[1].name)
  return concat(lines, "\n")
end

-- help(kc.csv), help("kc.org"): an entry of api.functions.
local function function_text(f)
  local lines = { f.call, "  " .. f.doc }
  if f.op then lines[#lines + 1] = "  " .. f.op.verb .. " " .. f.op.path end
  lines[#lines + 1] = "  Example:"
  lines[#lines + 1] = indent(f.example, "    ")
  return concat(lines, "\n")
end

-- help(kc): every collection with its methods, then every other name on kc,
-- in one column (a longer name pushes its text along).
local function overview()
  local lines = { "kc -- " .. api.summary, "" }
  local function row(name, text)
    lines[#lines + 1] = "  " .. name .. (" "):rep(math.max(2, 23 - #name)) .. text
  end
  for _, r in ipairs(api.resources) do
    local names = {}
    for _, m in ipairs(help.methods(r)) do names[#names + 1] = m.call:match("[:.]([%w_]+)[%({]") end
    row(r.lua, concat(names, ", "))
  end
  lines[#lines + 1] = ""
  for _, f in ipairs(api.functions) do row(f.call, help.summary(f.doc)) end
  return concat(lines, "\n")
end

-- "invitations.create", "org.users:update", "users", "user:update", "org",
-- "kc.csv", "org_token".
local function lookup(name)
  local res, opname = name:match("^([%w_%.]-)[%.:]([%w_]+)$")
  for _, r in ipairs(api.resources) do
    if name == r.name or name == r.lua or name == r.record then return resource_text(r) end
  end
  for _, f in ipairs(api.functions) do
    if name == f.name or name == "kc." .. f.name then return function_text(f) end
  end
  if not res then return nil end
  for _, r in ipairs(api.resources) do
    if res == r.name or res == r.lua or res == r.record then
      if opname == "each" and r.ops.list then return op_text(r.ops.list, "each") end
      if opname == "reload" and r.ops.get then return op_text(r.ops.get, "reload") end
      local op = r.ops[opname]
      if op then return op_text(op) end
      if r.children then
        for _, c in ipairs(r.children) do if c == opname then return resource_text(api.by_name[c]) end end
      end
    end
  end
end

--- The help text for `x` (kc, a collection, a record, a method, or a name).
function help.text(x)
  if x == nil or x == rawget(_G, "kc") then return overview() end
  local t = type(x)
  if t == "string" then
    return lookup(x) or ("no help for '" .. x .. "'; try help(kc)")
  end
  local d = tree.docs[x]
  if d then
    if d.form then return op_text(d.of, d.form) end
    if d.resource then return op_text(d) end
    if d.call then return function_text(d) end
  end
  if t == "function" then return "no help for this function" end
  if t == "table" then
    local mt = getmetatable(x)
    if type(mt) == "table" then
      local r = rawget(mt, "_resource")
      if r then return resource_text(r) end
      local coll = records.collection(x)
      if coll then return resource_text(getmetatable(coll)._resource) end
    end
  end
  return "no help for a " .. t .. " value; try help(kc)"
end

--- Prints the help text for `x`.
function help.print(x)
  io.write(help.text(x), "\n")
end

--- Adds kc.help (and the global help, unless the script or the REPL has its
--- own), and makes help(kc.csv), help(kc.org) ... find their entries.
---@param kc table the kc table, with everything else installed
function help.install(kc)
  kc.help = help.print
  if rawget(_G, "help") == nil then rawset(_G, "help", help.print) end
  for _, f in ipairs(api.functions) do
    local v = rawget(kc, f.name)
    if type(v) == "function" or type(v) == "table" or type(v) == "userdata" then tree.docs[v] = f end
  end
  -- The global help that Swift installs (it calls kc.help) is help too.
  local global = rawget(_G, "help")
  if global ~= nil then tree.docs[global] = tree.docs[kc.help] end
end

return help
