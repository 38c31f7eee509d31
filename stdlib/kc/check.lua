-- Argument checks against the description, before any request is made:
-- unknown fields (with a suggestion), wrong types, missing required fields,
-- values outside an enum or a range. Errors name the function and the field.

local type, pairs, ipairs, tostring, error, math_type = type, pairs, ipairs, tostring, error, math.type
local pcall, setmetatable, getmetatable = pcall, setmetatable, getmetatable
local concat, sort = table.concat, table.sort

local check = {}

--- Edit distance (Levenshtein), for "did you mean".
local function distance(a, b)
  local la, lb = #a, #b
  local row = {}
  for j = 0, lb do row[j] = j end
  for i = 1, la do
    local prev = row[0]
    row[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cur = row[j]
      local cost = (ca == b:byte(j)) and 0 or 1
      local v = prev + cost
      if row[j] + 1 < v then v = row[j] + 1 end
      if row[j - 1] + 1 < v then v = row[j - 1] + 1 end
      row[j] = v
      prev = cur
    end
  end
  return row[lb]
end
check.distance = distance

--- The closest of `names` to `word`, when close enough to be a typo.
function check.suggest(word, names)
  local best, bestd
  for _, n in ipairs(names) do
    local d = distance(word, n)
    if not bestd or d < bestd or (d == bestd and n < best) then best, bestd = n, d end
  end
  if best and bestd <= math.max(2, #word // 3) then return best end
end

local function typename(v)
  local t = type(v)
  if t == "number" then return math_type(v) == "integer" and "integer" or "number" end
  return t
end

local function describe(v)
  if type(v) == "string" then return "'" .. v .. "'" end
  return tostring(v)
end

--- How a parameter's type reads in messages and help: "string", "integer 1..1000",
--- "one of a, b", "string or list of strings".
function check.typetext(p)
  local t = p.type
  if p.enum then
    t = "one of " .. concat(p.enum, ", ")
  elseif t == "integer" and p.min then
    t = t .. " " .. p.min .. ".." .. p.max
  elseif t == "array" then
    t = "list of " .. p.items .. "s"
  end
  if p.multi then t = t .. " (or a list of them)" end
  if p.nullable then t = t .. " or kc.null" end
  return t
end

local function names_of(params)
  local names = {}
  for _, p in ipairs(params) do names[#names + 1] = p.name end
  sort(names)
  return names
end

local fail, fields -- forward

-- Checks one value against parameter `p`; `where` names the call, `field`
-- the dotted path of the field. Returns nothing, or fails.
local function value(v, p, where, field, null)
  if v == null and null ~= nil then
    if p.nullable then return end
    fail("field '%s' for %s: %s expected, got kc.null", field, where, p.type)
  end
  local t = p.type
  if p.multi and type(v) == "table" then
    if #v == 0 then fail("field '%s' for %s: %s expected, got an empty table", field, where, check.typetext(p)) end
    for i, item in ipairs(v) do
      value(item, { type = t, enum = p.enum, min = p.min, max = p.max }, where, field .. "[" .. i .. "]", null)
    end
    return
  end
  local got = typename(v)
  if t == "integer" then
    if got ~= "integer" then
      if got == "number" and v == math.floor(v) then v = math.tointeger(v) or v else
        fail("field '%s' for %s: integer expected, got %s", field, where, got)
      end
    end
    if p.min and (v < p.min or v > p.max) then
      fail("field '%s' for %s: %s is out of range %d..%d", field, where, tostring(v), p.min, p.max)
    end
  elseif t == "string" then
    if got ~= "string" then fail("field '%s' for %s: string expected, got %s", field, where, got) end
    if p.enum then
      for _, e in ipairs(p.enum) do if e == v then return end end
      fail("field '%s' for %s: %s is not one of %s", field, where, describe(v), concat(p.enum, ", "))
    end
  elseif t == "boolean" then
    if got ~= "boolean" then fail("field '%s' for %s: boolean expected, got %s", field, where, got) end
  elseif t == "array" then
    if got ~= "table" then fail("field '%s' for %s: list of %ss expected, got %s", field, where, p.items, got) end
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    if n ~= #v then fail("field '%s' for %s: list of %ss expected, got a table with other keys", field, where, p.items) end
    for i, item in ipairs(v) do
      if typename(item) ~= p.items then
        fail("field '%s[%d]' for %s: %s expected, got %s", field, i, where, p.items, typename(item))
      end
    end
  elseif t == "object" then
    if got ~= "table" then fail("field '%s' for %s: table expected, got %s", field, where, got) end
    fields(v, p.fields, where, field .. ".", null)
  end
end

--- Checks every key of table `args` against `params` (a list of parameter
--- descriptions); `prefix` is the dotted path of nested tables.
function fields(args, params, where, prefix, null)
  prefix = prefix or ""
  local byname = {}
  for _, p in ipairs(params) do byname[p.name] = p end
  for k, v in pairs(args) do
    local p = type(k) == "string" and byname[k]
    if not p then
      local key = type(k) == "string" and k or ("[" .. tostring(k) .. "]")
      local names = names_of(params)
      local hint
      if #names == 0 then
        hint = "; it takes no fields"
      else
        local s = type(k) == "string" and check.suggest(k, names)
        hint = s and ("; did you mean '" .. s .. "'?") or ("; fields are " .. concat(names, ", "))
      end
      fail("unknown field '%s%s' for %s%s", prefix, key, where, hint)
    end
    value(v, p, where, prefix .. k, null)
  end
  for _, p in ipairs(params) do
    if p.required and args[p.name] == nil then
      fail("missing required field '%s%s' for %s", prefix, p.name, where)
    end
  end
end

-- Failures unwind to check.args as a boxed message (so that the binding
-- can raise it at its caller's level, wherever the check failed).
local Failure = {}
function fail(fmt, ...)
  error(setmetatable({ fmt:format(...) }, Failure), 0)
end

--- Checks table `args` against `params`: nil when it is right, else the
--- message. `null` is kc.null (accepted for nullable fields).
function check.args(args, params, where, null)
  local ok, err = pcall(fields, args, params, where, "", null)
  if ok then return nil end
  if getmetatable(err) == Failure then return err[1] end
  error(err, 0)
end

return check
