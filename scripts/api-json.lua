-- Writes the API description (stdlib/kc/api.lua) as JSON, for tools that
-- are not Lua: the e2e tests compare it with the sandbox's /openapi.json and
-- take their endpoint lists from it.
-- Usage: kcsh scripts/api-json.lua > api.json
--
-- {"resources": [{name, lua, path, item_path, operations: [{name, verb,
-- path, on, paged, total_count, params: [...]}]}], "functions": [{name,
-- call, of}]}
-- A parameter keeps api.lua's fields (name, in, type, enum, required,
-- nullable, min, max, multi, items, fields); nothing here is derived anew.

local api = require("kc.api")
local array = kc.json.array

---@param params table[] parameter (or nested field) descriptions
---@return table
local function params_of(params)
  local out = {}
  for _, p in ipairs(params) do
    out[#out + 1] = {
      name = p.name, ["in"] = p["in"], type = p.type, enum = p.enum and array(p.enum),
      required = p.required, nullable = p.nullable, min = p.min, max = p.max, multi = p.multi,
      items = p.items, fields = p.fields and params_of(p.fields),
    }
  end
  return array(out)
end

local resources = {}
for _, r in ipairs(api.resources) do
  local ops = {}
  for _, op in ipairs(r.operations) do
    ops[#ops + 1] = { name = op.name, verb = op.verb, path = op.path, on = op.on, paged = op.paged,
      total_count = op.total_count, params = params_of(op.params) }
  end
  resources[#resources + 1] = { name = r.name, lua = r.lua, path = r.path, item_path = r.item_path,
    operations = array(ops) }
end

local functions = {}
for _, f in ipairs(api.functions) do
  functions[#functions + 1] = { name = f.name, call = f.call, of = f.of }
end

io.write(kc.json.encode({ resources = array(resources), functions = array(functions) }, { pretty = true }), "\n")
