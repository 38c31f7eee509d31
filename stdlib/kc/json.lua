-- JSON files for kc.json: read, lines (JSON Lines), write. Encoding and
-- decoding are LuaJSON's (C); this is the file handling around them.

local iter = require("kc.iter")
local open = require("kc.files").open

local type, error, pcall = type, error, pcall

local M = {}

local json -- the native kc.json table


--- The value of a JSON file.
---@param where string|file* a path, an open file, or "-" for stdin
---@return any
function M.read(where)
  local f, name, owned = open(where, "r", "kc.json.read")
  local text = f:read("a")
  if owned then f:close() end
  local ok, v = pcall(json.decode, text or "")
  if not ok then error("kc.json.read: " .. name .. ": " .. v, 2) end
  return v
end

--- A kc iterator over the values of a JSON Lines file, one a line (blank
--- lines are skipped); a bad line is an error naming it.
---@param where string|file*
---@return kc.Iter
function M.lines(where)
  local f, name, owned = open(where, "r", "kc.json.lines")
  local n, done = 0, false
  local function close()
    if not done then
      done = true
      if owned then f:close() end
    end
  end
  return iter.new(function()
    while not done do
      local line = f:read("l")
      if line == nil then
        close()
        return nil
      end
      n = n + 1
      if line:find("%S") then
        local ok, v = pcall(json.decode, line)
        if not ok then
          close()
          error("kc.json.lines: " .. name .. ":" .. n .. ": " .. v, 0)
        end
        return v
      end
    end
  end, close)
end

--- Writes `v` as JSON to `where` (pretty with `opts.pretty`), with a final
--- line break.
---@param where string|file*
---@param v any
---@param opts? {pretty?: boolean}
function M.write(where, v, opts)
  local text = json.encode(v, opts)
  local f, _, owned = open(where, "w", "kc.json.write")
  f:write(text, "\n")
  if owned then f:close() else f:flush() end
end

function M.install(kc)
  json = kc.json
  json.read, json.lines, json.write = M.read, M.lines, M.write
end

return M
