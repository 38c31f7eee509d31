-- JSON files for kc.json: read, lines (JSON Lines), write. Encoding and
-- decoding are LuaJSON's (C); this is the file handling around them.

local iter = require("kc.iter")
local open = require("kc.files").open

local type, error, pcall, pairs, select, tostring, getmetatable, rawget =
  type, error, pcall, pairs, select, tostring, getmetatable, rawget

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

local Iter = iter.Iter

--- `v` as plain data for JSON (what --json prints): a record is its fields,
--- a page `{items, page_info}`, an iterator drained into an array (an item
--- of several values becomes an array of them), any other table its raw
--- fields (keys starting with "_" and functions left out); a function,
--- userdata or thread is its `tostring`. A table met twice on one path is
--- an error (a cycle).
---@param v any
---@return any
function M.to_json(v)
  if not json then local _ = kc.json end -- reading a field of kc fills kc (and json)
  local array = json.array
  local path = {}
  local function conv(x)
    local tx = type(x)
    if tx == "function" or tx == "userdata" or tx == "thread" then
      if x == json.null then return x end
      return tostring(x)
    end
    if tx ~= "table" then return x end
    if path[x] then error("kc.json.to_json: the value contains a cycle", 0) end
    path[x] = true
    local mt = getmetatable(x)
    local out
    if mt == Iter then
      out = array {}
      for a, b, c in x do
        local n = 1 + (b ~= nil and 1 or 0)
        if c ~= nil then n = 3 end
        if n == 1 then out[#out + 1] = conv(a) else out[#out + 1] = array { conv(a), conv(b), c ~= nil and conv(c) or nil } end
      end
    elseif type(mt) == "table" and rawget(mt, "__name") == "kc.page" then
      local items = array {}
      for i, item in ipairs(rawget(x, "items") or {}) do items[i] = conv(item) end
      out = { items = items, page_info = conv(rawget(x, "page_info") or {}) }
    else
      out = (mt ~= nil and mt == getmetatable(array {})) and array {} or {}
      for k, val in pairs(x) do
        local tk = type(k)
        if type(val) ~= "function" and not (tk == "string" and k:sub(1, 1) == "_") then
          out[tk == "number" and k or tostring(k)] = conv(val)
        end
      end
    end
    path[x] = nil
    return out
  end
  return conv(v)
end

--- Prints each argument as compact JSON, one a line, on stdout: what
--- `--json` does with a chunk's results (nil prints `null`).
function M.print_results(...)
  if not json then local _ = kc.json end
  for i = 1, select("#", ...) do
    io.stdout:write(json.encode(M.to_json((select(i, ...)))), "\n")
  end
  io.stdout:flush()
end

--- Prints an error as one JSON line on stderr, `{"error": {...}}`: a
--- kc.Error's fields (status, code, message, method, path, request_id...),
--- or `{message = tostring(e)}`.
function M.print_error(e)
  if not json then local _ = kc.json end
  local body
  if type(e) == "table" then
    local ok, t = pcall(M.to_json, e)
    body = ok and type(t) == "table" and t[1] == nil and t or { message = tostring(e) }
    if body.message == nil then body.message = tostring(e) end
  else
    body = { message = tostring(e) }
  end
  io.stderr:write(json.encode { error = body }, "\n")
  io.stderr:flush()
end

function M.install(kc)
  json = kc.json
  json.read, json.lines, json.write = M.read, M.lines, M.write
end

return M
