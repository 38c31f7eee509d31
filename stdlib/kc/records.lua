-- Records: the API's answers as plain tables (snake_case fields, exactly as
-- sent), with methods and child collections from their metatable. One
-- metatable per collection object, so a record knows its place in the tree
-- (the path parameters above it) without carrying any extra field.

local pairs, type, tostring, rawget, setmetatable, getmetatable = pairs, type, tostring, rawget, setmetatable, getmetatable
local concat = table.concat

local records = {}

-- Child collections, made on first use and kept as long as their record.
local children = setmetatable({}, { __mode = "k" })

--- The metatable for records of resource `r` reached through collection
--- `coll`. `methods` are the resource's record methods (shared), `child`
--- makes a child collection: child(record, name).
function records.metatable(r, coll, methods, child, complete)
  local kids = {}
  for _, name in ipairs(r.children or {}) do kids[name] = true end
  local mt = {
    __name = "kc." .. r.record,
    __kc = coll,
    -- Raw data for completion (no Lua runs there): method and child names;
    -- tree.lua adds __params, the field names of each method's argument table.
    __complete = complete,
  }
  function mt.__index(t, k)
    local m = methods[k]
    if m ~= nil then return m end
    if kids[k] then
      local c = children[t]
      if not c then
        c = {}
        children[t] = c
      end
      local sub = c[k]
      if not sub then
        sub = child(t, k)
        c[k] = sub
      end
      return sub
    end
  end
  function mt.__tostring(t)
    return records.line(r, t)
  end
  return mt
end

local function show(v)
  if type(v) == "string" then
    if v:find("[%s\"]") or v == "" then return ("%q"):format(v) end
    return v
  end
  return tostring(v)
end

--- A short readable line: `user 01J...: ana@acme.com org_admin active`.
function records.line(r, t)
  local parts = {}
  for _, f in ipairs(r.show or {}) do
    local v = rawget(t, f)
    if v ~= nil then parts[#parts + 1] = show(v) end
  end
  local id = rawget(t, "id")
  local head = r.record .. (id and (" " .. tostring(id)) or "")
  if #parts == 0 then return head end
  return head .. ": " .. concat(parts, " ")
end

--- Makes `rec` hold exactly the fields of `answer` (the server's view).
function records.refresh(rec, answer)
  if type(answer) ~= "table" then return rec end
  for k in pairs(rec) do
    if answer[k] == nil then rec[k] = nil end
  end
  for k, v in pairs(answer) do rec[k] = v end
  return rec
end

--- The collection a record was reached through.
function records.collection(rec)
  local mt = getmetatable(rec)
  return type(mt) == "table" and rawget(mt, "__kc") or nil
end

return records
