-- kc.args: a script declares its options once and gets them parsed, a
-- --help made from the declaration, and a usage error (exit 2) that names the
-- bad option, as a command-line tool should.
--
--     local opts = kc.args{
--       description = "Invite each row of a CSV file.",
--       {"org", required = true, help = "organization label or id"},
--       {"role", default = "org_member", enum = {"org_admin", "org_member", "org_viewer"}},
--       {"concurrency", type = "integer", default = 8},
--       {"verbose", type = "boolean"},
--       {"file", positional = true, required = true, help = "CSV file with an email column"},
--     }
--
-- Options are `--name value` or `--name=value`; booleans are `--name` and
-- `--no-name`; `type = "list"` may be repeated; `--` ends the options. A dash
-- in a name is an underscore in the result (`--dry-run` -> opts.dry_run).

local check = require("kc.check")

local type, tostring, error, ipairs, concat = type, tostring, error, ipairs, table.concat

local M = {}

local TYPES = { string = true, integer = true, number = true, boolean = true, list = true }
local SPEC_FIELDS = { type = true, default = true, required = true, help = true, enum = true, positional = true, metavar = true }

---@class kc.args.Option
---@field [1] string the name (--name, or the positional's name in help)
---@field type? "string"|"integer"|"number"|"boolean"|"list" default "string"
---@field default? any
---@field required? boolean
---@field help? string
---@field enum? string[]
---@field positional? boolean
---@field metavar? string the value's name in help (default: the name in capitals)

---@class kc.args.Spec
---@field name? string the program's name in messages (default: the script's file name)
---@field description? string
---@field [integer] kc.args.Option

-- Checks the declaration itself: a mistake there is the script author's, so
-- it raises, at the script's line (`level` as error() counts, from here),
-- rather than exiting 2.
local function compile(spec, level)
  if type(spec) ~= "table" then error("bad argument #1 to 'kc.args' (table expected, got " .. type(spec) .. ")", level) end
  local byname, options, positionals = {}, {}, {}
  for i, o in ipairs(spec) do
    if type(o) ~= "table" or type(o[1]) ~= "string" or not o[1]:match("^%a[%w%-_]*$") then
      error("kc.args: option " .. i .. " needs a name as its first item ({\"name\", ...})", level)
    end
    for k in pairs(o) do
      if k ~= 1 and not SPEC_FIELDS[k] then
        local hint = check.suggest(tostring(k), { "type", "default", "required", "help", "enum", "positional", "metavar" })
        error("kc.args: option '" .. o[1] .. "' has unknown field '" .. tostring(k) .. "'" .. (hint and (" (did you mean '" .. hint .. "'?)") or ""), level)
      end
    end
    local t = o.type or "string"
    if not TYPES[t] then error("kc.args: option '" .. o[1] .. "' has unknown type '" .. tostring(t) .. "' (string, integer, number, boolean or list)", level) end
    if byname[o[1]] then error("kc.args: option '" .. o[1] .. "' is declared twice", level) end
    local opt = { positional = o.positional, name = o[1], key = o[1]:gsub("%-", "_"), type = t, default = o.default, required = o.required,
      help = o.help, enum = o.enum, metavar = o.metavar or ((t == "integer" or t == "number") and "N" or o[1]:upper():gsub("%-", "_")) }
    byname[opt.name] = opt
    if o.positional then positionals[#positionals + 1] = opt else options[#options + 1] = opt end
  end
  return byname, options, positionals
end

local function program(spec)
  if spec.name then return spec.name end
  local script = rawget(_G, "arg") and arg[0]
  if type(script) == "string" then return (script:match("([^/]+)$"):gsub("%.lua$", "")) end
  return "script"
end

--- The --help text of `spec`.
---@param spec kc.args.Spec
---@return string
function M.help(spec)
  local _, options, positionals = compile(spec, 3)
  local usage = { "usage: " .. program(spec) }
  for _, o in ipairs(options) do
    local form = "--" .. o.name .. (o.type == "boolean" and "" or (" " .. o.metavar))
    usage[#usage + 1] = o.required and form or ("[" .. form .. "]" .. (o.type == "list" and "..." or ""))
  end
  for _, p in ipairs(positionals) do
    local form = p.metavar .. (p.type == "list" and "..." or "")
    usage[#usage + 1] = p.required and form or ("[" .. form .. "]")
  end
  local lines = { concat(usage, " ") }
  if spec.description then lines[#lines + 1] = "\n" .. spec.description end
  local rows = {}
  local function row(left, o)
    local notes = {}
    if o and o.help then notes[#notes + 1] = o.help end
    if o and o.enum then notes[#notes + 1] = "one of " .. concat(o.enum, ", ") end
    if o and o.default ~= nil and o.type ~= "boolean" then notes[#notes + 1] = "default " .. tostring(o.default) end
    if o and o.required then notes[#notes + 1] = "required" end
    if o and o.type == "list" then notes[#notes + 1] = "may be repeated" end
    rows[#rows + 1] = { left, concat(notes, "; ") }
  end
  if #positionals > 0 then
    rows[#rows + 1] = false
    for _, p in ipairs(positionals) do row(p.metavar, p) end
  end
  rows[#rows + 1] = true
  for _, o in ipairs(options) do
    row("--" .. o.name .. (o.type == "boolean" and "" or (" " .. o.metavar)), o)
  end
  rows[#rows + 1] = { "-h, --help", "show this help" }
  local width = 0
  for _, r in ipairs(rows) do if type(r) == "table" then width = math.max(width, #r[1]) end end
  for _, r in ipairs(rows) do
    if r == false then
      lines[#lines + 1] = "\narguments:"
    elseif r == true then
      lines[#lines + 1] = "\noptions:"
    else
      lines[#lines + 1] = ("  " .. r[1] .. string.rep(" ", width - #r[1] + 2) .. r[2]):gsub("%s+$", "")
    end
  end
  return concat(lines, "\n") .. "\n"
end

-- One value of option `o`, converted and checked; nil and a message if bad.
local function convert(o, v, label)
  local t = o.type
  local out = v
  if t == "integer" then
    out = math.tointeger(tonumber(v))
    if out == nil then return nil, label .. " needs an integer, got '" .. v .. "'" end
  elseif t == "number" then
    out = tonumber(v)
    if out == nil then return nil, label .. " needs a number, got '" .. v .. "'" end
  end
  if o.enum then
    local found = false
    for _, e in ipairs(o.enum) do if e == out then found = true end end
    if not found then return nil, label .. " must be one of " .. concat(o.enum, ", ") .. ", got '" .. v .. "'" end
  end
  return out
end

--- Parses `argv` (default: the script's `arg`) against `spec`: the options
--- table, or nil and a usage message; "help" when -h or --help was given.
---@param spec kc.args.Spec
---@param argv? string[]
---@return table|nil opts, string|nil problem
local function parse(spec, argv, level)
  local byname, options, positionals = compile(spec, level)
  argv = argv or rawget(_G, "arg") or {}
  local out, rest, i = {}, {}, 1
  local function put(o, v, label)
    local value, why = convert(o, v, label)
    if why then return why end
    if o.type == "list" then
      local list = out[o.key] or {}
      list[#list + 1] = value
      out[o.key] = list
    else
      out[o.key] = value
    end
  end
  local names = {}
  for _, o in ipairs(options) do names[#names + 1] = o.name end
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do rest[#rest + 1] = argv[j] end
      break
    elseif a == "-h" or a == "--help" then
      return nil, "help"
    elseif a:sub(1, 2) == "--" then
      local name, inline = a:sub(3):match("^([^=]*)=(.*)$")
      name = name or a:sub(3)
      local o = byname[name]
      local negated = false
      if not o and name:sub(1, 3) == "no-" and byname[name:sub(4)] and byname[name:sub(4)].type == "boolean" then
        o, negated = byname[name:sub(4)], true
      end
      if not o or o.positional then
        local hint = check.suggest(name, names)
        return nil, "unknown option '--" .. name .. "'" .. (hint and (" (did you mean '--" .. hint .. "'?)") or "")
      end
      if o.type == "boolean" then
        if inline then return nil, "--" .. name .. " takes no value" end
        out[o.key] = not negated
      else
        local v = inline
        if v == nil then
          i = i + 1
          v = argv[i]
          if v == nil then return nil, "--" .. name .. " needs a value" end
        end
        local why = put(o, v, "--" .. name)
        if why then return nil, why end
      end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      return nil, "unknown option '" .. a .. "' (options are --long; put -- before an argument that starts with -)"
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  -- positionals in order; a list positional takes the rest
  local r = 1
  for _, p in ipairs(positionals) do
    if p.type == "list" then
      while r <= #rest do
        local why = put(p, rest[r], p.metavar)
        if why then return nil, why end
        r = r + 1
      end
    elseif r <= #rest then
      local why = put(p, rest[r], p.metavar)
      if why then return nil, why end
      r = r + 1
    end
  end
  if r <= #rest then return nil, "unexpected argument '" .. rest[r] .. "'" end
  for _, o in ipairs(spec) do
    local opt = byname[o[1]]
    if out[opt.key] == nil then
      if opt.required then
        return nil, (opt.positional and opt.metavar or ("--" .. opt.name)) .. " is required"
      end
      out[opt.key] = opt.default
      if out[opt.key] == nil and opt.type == "boolean" then out[opt.key] = false end
    end
  end
  return out
end

-- (No tail calls into parse: they would drop the frames the levels count.)
function M.parse(spec, argv)
  local opts, problem = parse(spec, argv, 4)
  return opts, problem
end

--- Parses the script's arguments; prints --help and exits 0, or prints a
--- usage error and exits 2.
---@param spec kc.args.Spec
---@param argv? string[]
---@return table opts
function M.args(spec, argv)
  local opts, problem = parse(spec, argv, 5)
  if opts then return opts end
  if problem == "help" then
    io.stdout:write(M.help(spec))
    os.exit(0)
  end
  local name = program(spec)
  io.stderr:write(name, ": ", problem, "\nTry '", name, " --help'.\n")
  os.exit(2)
end

function M.install(kc)
  kc.args = setmetatable({ parse = M.parse, help = M.help }, {
    __call = function(_, spec, argv)
      local opts = M.args(spec, argv)
      return opts
    end,
  })
end

return M
