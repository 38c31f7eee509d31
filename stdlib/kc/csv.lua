-- kc.csv: RFC 4180 files in and out, streaming.
--
-- read() parses a chunk at a time with string.find, jumping from one special
-- character to the next, so a 1 GB file goes through in constant memory and
-- without a Lua step per byte. A record that runs past the end of a chunk is
-- parsed again once the next chunk is appended: records are short, so that
-- costs little and keeps one parser for every case.

local iter = require("kc.iter")
local open = require("kc.files").open

local type, tostring, error, setmetatable = type, tostring, error, setmetatable
local find, sub, byte, gsub, concat = string.find, string.sub, string.byte, string.gsub, table.concat

local M = {}

local CHUNK = 1 << 16

local function check_sep(sep, fname)
  if sep == nil then return "," end
  if type(sep) ~= "string" or #sep ~= 1 or sep == '"' or sep == "\r" or sep == "\n" then
    error(fname .. ": 'sep' must be one character other than a quote or a line break, got " .. tostring(sep), 3)
  end
  return sep
end


---@class kc.csv.ReadOptions
---@field header? boolean rows keyed by the first line's names (default true); false: arrays
---@field sep? string the separator, one character (default ",")

--- Rows of a CSV file as a kc iterator: tables keyed by the header, or arrays
--- with `header = false`. Fields are the file's exact strings.
---@param where string|file* a path, an open file, or "-" for stdin
---@param opts? kc.csv.ReadOptions
---@return kc.Iter
function M.read(where, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("bad argument #2 to 'kc.csv.read' (table expected, got " .. type(opts) .. ")", 2) end
  local sep = check_sep(opts.sep, "kc.csv.read")
  local keyed = opts.header ~= false
  local f, name, owned = open(where, "r", "kc.csv.read")
  -- the characters an unquoted field ends at (and a stray quote)
  local special = "[" .. (sep == "]" and "%]" or sep:gsub("%p", "%%%0")) .. "\r\n\"]"
  local sepb = byte(sep)

  local buf, pos, eof = "", 1, false
  local line = 1 -- the line the next record starts on
  local header, width
  local closed = false

  local function close()
    if not closed then
      closed = true
      if owned then f:close() end
    end
  end

  local function fail(l, col, why)
    close()
    error(string.format("kc.csv.read: %s:%d:%d: %s", name, l, col, why), 0)
  end

  -- Column (1-based, in bytes) of buffer offset `at` on line `l` whose
  -- record starts at `start`.
  local function column(start, at)
    local col, p = at - start + 1, start
    while true do
      local nl = find(buf, "\n", p, true)
      if not nl or nl >= at then return col end
      col, p = at - nl, nl + 1
    end
  end

  -- Parses one record from `pos`: the fields, and the offset after it; nil
  -- when the buffer ends inside it (more input is needed).
  local function record()
    local fields, n, p, len = {}, 0, pos, #buf
    local newlines = 0
    while true do
      if byte(buf, p) == 34 then -- a quoted field
        local parts, q = {}, p + 1
        while true do
          local e = find(buf, '"', q, true)
          if not e then
            if eof then fail(line, column(pos, p), "a quoted field is not closed") end
            return nil
          end
          parts[#parts + 1] = sub(buf, q, e - 1)
          if byte(buf, e + 1) == 34 then
            parts[#parts + 1] = '"'
            q = e + 2
          else
            p = e + 1
            break
          end
        end
        local text = concat(parts)
        if find(text, "\n", 1, true) then newlines = newlines + select(2, gsub(text, "\n", "")) end
        n = n + 1
        fields[n] = text
        local c = byte(buf, p)
        if c == nil and not eof then return nil end
        if c ~= nil and c ~= sepb and c ~= 13 and c ~= 10 then
          fail(line + newlines, column(pos, p), "a quoted field is followed by '" .. sub(buf, p, p) .. "', not a separator or the end of the line")
        end
      else
        local e = find(buf, special, p)
        if not e then
          if not eof then return nil end
          e = len + 1
        elseif byte(buf, e) == 34 then
          fail(line + newlines, column(pos, e), "a quote inside an unquoted field (quote the whole field and double the quote)")
        end
        n = n + 1
        fields[n] = sub(buf, p, e - 1)
        p = e
      end
      local c = byte(buf, p)
      if c == sepb then
        p = p + 1
        if p > len and not eof then return nil end
      elseif c == 13 then
        if p == len and not eof then return nil end
        if byte(buf, p + 1) == 10 then p = p + 1 end
        return fields, p + 1, newlines + 1
      elseif c == 10 then
        return fields, p + 1, newlines + 1
      else -- the end of the input
        return fields, p, newlines
      end
    end
  end

  local function next_record()
    while true do
      if pos > #buf then
        if eof then return nil end
        buf, pos = "", 1
      end
      local fields, after, lines = record()
      if fields then
        local at = line
        pos, line = after, line + lines
        -- a blank line holds no record
        if not (#fields == 1 and fields[1] == "") then return fields, at end
      else
        local more = f:read(CHUNK)
        if more == nil then
          eof = true
        else
          buf = sub(buf, pos) .. more
          pos = 1
        end
      end
    end
  end

  -- The first chunk: skip a UTF-8 byte order mark.
  local first = f:read(CHUNK)
  if first == nil then eof = true else buf = first end
  if sub(buf, 1, 3) == "\239\187\191" then pos = 4 end

  if keyed then
    local names, at = next_record()
    if names then
      header, width = names, #names
      local seen = {}
      for i, h in ipairs(names) do
        if seen[h] then fail(at, 1, "the header names '" .. h .. "' twice (columns " .. seen[h] .. " and " .. i .. ")") end
        seen[h] = i
      end
    end
  end

  return iter.new(function()
    if closed then return nil end
    local fields, at = next_record()
    if not fields then
      close()
      return nil
    end
    if not keyed then return fields end
    if #fields ~= width then
      fail(at, 1, string.format("%d field%s where the header has %d", #fields, #fields == 1 and "" or "s", width))
    end
    local row = {}
    for i = 1, width do row[header[i]] = fields[i] end
    return row
  end, close)
end

-- One field as CSV text: quoted only when it must be.
local function field(v, sep)
  local t = type(v)
  local s
  if v == nil or v == M.null then
    return ""
  elseif t == "string" then
    s = v
  elseif t == "number" then
    s = math.type(v) == "integer" and tostring(v) or string.format("%.17g", v)
  elseif t == "boolean" then
    s = tostring(v)
  elseif t == "table" then
    s = M.encode_json(v)
  else
    error("kc.csv.write: cannot write a " .. t .. " in a CSV field", 4)
  end
  if find(s, '["\r\n]') or find(s, sep, 1, true) then
    return '"' .. gsub(s, '"', '""') .. '"'
  end
  return s
end

local function is_array(row)
  return row[1] ~= nil or next(row) == nil
end

---@class kc.csv.WriteOptions
---@field columns? string[] the columns, in order (default: the first row's keys, sorted)
---@field header? boolean write the header line (default true for keyed rows)
---@field sep? string the separator (default ",")
---@field crlf? boolean end lines with CRLF, as RFC 4180 says (default LF)

---@class kc.csv.Writer
local Writer = { __name = "kc.csv.writer" }
Writer.__index = Writer

--- A writer that streams rows to `where`: w:write(row) for each, then w:close().
---@param where string|file* a path, an open file, or "-" for stdout
---@param opts? kc.csv.WriteOptions
---@return kc.csv.Writer
function M.writer(where, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("bad argument #2 to 'kc.csv.writer' (table expected, got " .. type(opts) .. ")", 2) end
  local sep = check_sep(opts.sep, "kc.csv.writer")
  if opts.columns ~= nil and type(opts.columns) ~= "table" then
    error("kc.csv.writer: 'columns' must be a list of names, got " .. type(opts.columns), 2)
  end
  local f, _, owned = open(where, "w", "kc.csv.writer")
  return setmetatable({ _f = f, _owned = owned, _sep = sep, _eol = opts.crlf and "\r\n" or "\n",
    _columns = opts.columns, _header = opts.header, _rows = 0 }, Writer)
end

--- Writes one row: a record, a table keyed by column, or an array of fields.
function Writer:write(row)
  if self._f == nil then error("kc.csv.writer: write after close", 2) end
  if type(row) ~= "table" then error("bad argument #1 to 'write' (table expected, got " .. type(row) .. ")", 2) end
  local sep, out = self._sep, {}
  if self._rows == 0 then
    if not self._columns and not is_array(row) then
      local names = {}
      for k in pairs(row) do
        if type(k) == "string" then names[#names + 1] = k end
      end
      table.sort(names)
      self._columns = names
      -- columns taken from the first row must hold every later row's fields
      self._held = {}
      for _, c in ipairs(names) do self._held[c] = true end
    end
    if self._columns and self._header ~= false then
      for i, c in ipairs(self._columns) do out[i] = field(c, sep) end
      self._f:write(concat(out, sep), self._eol)
    end
  end
  out = {}
  local cols = self._columns
  if cols then
    local held = self._held
    for k in pairs(held and row or {}) do
      if type(k) == "string" and not held[k] then
        error(string.format("kc.csv.write: row %d has field '%s', which no column holds (name the columns with opts.columns)",
          self._rows + 1, k), 3)
      end
    end
    for i, c in ipairs(cols) do out[i] = field(row[c], sep) end
  else
    for i = 1, #row do out[i] = field(row[i], sep) end
  end
  self._f:write(concat(out, sep), self._eol)
  self._rows = self._rows + 1
end

--- Flushes, and closes the file if the writer opened it.
function Writer:close()
  local f = self._f
  if f == nil then return end
  self._f = nil
  if self._owned then f:close() else f:flush() end
end

Writer.__close = Writer.close

--- Writes `rows` (a list, a kc iterator or an iterator function) to `where`.
---@param where string|file*
---@param rows table|function
---@param opts? kc.csv.WriteOptions
---@return integer rows the number of rows written
function M.write(where, rows, opts)
  local nextrow
  local mt = type(rows) == "table" and getmetatable(rows)
  if mt and mt.__name == "kc.iter" then
    nextrow = rows._next
  elseif type(rows) == "table" then
    local i = 0
    nextrow = function()
      i = i + 1
      return rows[i]
    end
  elseif type(rows) == "function" then
    nextrow = rows
  else
    error("bad argument #2 to 'kc.csv.write' (list, kc iterator or function expected, got " .. type(rows) .. ")", 2)
  end
  local w <close> = M.writer(where, opts)
  for row in nextrow do w:write(row) end
  if mt and mt.__name == "kc.iter" then rows:close() end
  return w._rows
end

--- kc.null and kc.json.encode come from kc's native half.
function M.install(kc)
  M.null = kc.null
  M.encode_json = kc.json.encode
  kc.csv = M
end

return M
