-- Tables for people: a page, a list of records or an iterator's items as an
-- aligned table with a header; one record as aligned `field  value` lines.
-- The REPL's printer (display) and kc.table (render) are this one renderer.
-- Columns come from the resource's `columns` in api.lua, else the rows' keys.

local api = require("kc.api")

local type, pairs, ipairs, tostring, rawget, getmetatable, next =
  type, pairs, ipairs, tostring, rawget, getmetatable, next
local concat, sort = table.concat, table.sort

local M = {}

-- Resources by the __name of their records' metatable ("kc.user").
local by_record = {}
for _, r in ipairs(api.resources) do by_record["kc." .. r.record] = r end

--- The resource whose record `t` is, or nil.
function M.resource(t)
  if type(t) ~= "table" then return nil end
  local mt = getmetatable(t)
  return type(mt) == "table" and by_record[rawget(mt, "__name")] or nil
end

local function named(t, name)
  local mt = getmetatable(t)
  return type(mt) == "table" and rawget(mt, "__name") == name
end

-- Display width of a UTF-8 string (one column per code point; bytes that
-- are not UTF-8 count one each).
local function width(s)
  return utf8.len(s) or #s
end

-- The first n columns of s (n >= 1), with … when cut.
local function cut(s, n)
  if width(s) <= n then return s end
  if n <= 1 then return "…" end
  local ok, stop = pcall(utf8.offset, s, n)
  if not ok or not stop then return s:sub(1, n - 1) .. "…" end
  return s:sub(1, stop - 1) .. "…"
end

-- Colours (SGR) for the values of enum fields people scan for.
local COLORS = {
  role = { org_admin = "1;35", org_member = "32", org_viewer = "36" },
  status = { active = "32", disabled = "31", pending = "33", accepted = "32", expired = "2", revoked = "2" },
}

local function paint(text, sgr, on)
  if not (on and sgr) then return text end
  return "\27[" .. sgr .. "m" .. text .. "\27[0m"
end

-- A value as one line of text.
local function cell(v, depth)
  depth = depth or 0
  local tv = type(v)
  if v == nil then return "" end
  if tv == "string" then return (v:gsub("[%c]", " ")) end
  if tv == "table" then
    local mt = getmetatable(v)
    if type(mt) == "table" and rawget(mt, "__tostring") then return (tostring(v):gsub("[%c]", " ")) end
    if depth > 1 then return "{…}" end
    local parts, keys = {}, {}
    for k in pairs(v) do keys[#keys + 1] = k end
    if #keys == 0 then return "{}" end
    local n = #v
    sort(keys, function(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      if ta == "number" or ta == "string" then return a < b end
      return false
    end)
    for _, k in ipairs(keys) do
      if math.type(k) == "integer" and k >= 1 and k <= n then
        parts[#parts + 1] = cell(v[k], depth + 1)
      else
        parts[#parts + 1] = tostring(k) .. " = " .. cell(v[k], depth + 1)
      end
    end
    return "{ " .. concat(parts, ", ") .. " }"
  end
  return tostring(v)
end

-- The columns for rows: opts.columns, the resource's, else every key the
-- rows have with a non-table value (sorted, id last).
local function columns_for(rows, opts)
  if opts.columns then return opts.columns end
  local r = M.resource(rows[1])
  if r and r.columns then return r.columns end
  local seen, out = {}, {}
  for _, row in ipairs(rows) do
    if type(row) == "table" then
      for k, v in pairs(row) do
        if type(k) == "string" and not seen[k] and type(v) ~= "table" then
          seen[k] = true
          out[#out + 1] = k
        end
      end
    end
  end
  sort(out, function(a, b)
    if (a == "id") ~= (b == "id") then return b == "id" end
    return a < b
  end)
  if #out == 0 then out = { "value" } end
  return out
end

-- Column widths within `total` columns: the widest shrinks first, no column
-- below its header or 4 columns (whichever is smaller) unless nothing else fits.
local function fit(widths, heads, total)
  local n = #widths
  local function sum()
    local s = 2 * (n - 1)
    for i = 1, n do s = s + widths[i] end
    return s
  end
  local over = sum() - total
  while over > 0 do
    local wi, wv = nil, 0
    for i = 1, n do
      local floor = math.min(4, width(heads[i]))
      if widths[i] > floor and widths[i] > wv then wi, wv = i, widths[i] end
    end
    if not wi then break end
    -- take it down to the next widest, or by what is over
    local second = 0
    for i = 1, n do if i ~= wi and widths[i] > second then second = widths[i] end end
    local floor = math.min(4, width(heads[wi]))
    local take = math.min(over, math.max(1, wv - second))
    widths[wi] = math.max(floor, wv - take)
    over = sum() - total
  end
  return widths
end

-- The rows of `source` (a page, a list, an iterator), at most `limit` of
-- them (nil: all), and what more there is: hidden (a count, or true when an
-- iterator has more), next_page.
local function gather(source, limit)
  local rows, hidden, next_page = {}, 0, false
  local list = source
  if named(source, "kc.page") then
    list = rawget(source, "items") or {}
    local info = rawget(source, "page_info")
    next_page = type(info) == "table" and info.has_next_page == true
  elseif named(source, "kc.iter") then
    local n = 0
    for item in source do
      n = n + 1
      if limit and n > limit then
        hidden = true
        break
      end
      rows[n] = item
    end
    return rows, hidden, next_page
  end
  local n = #list
  local shown = limit and math.min(n, limit) or n
  for i = 1, shown do rows[i] = list[i] end
  return rows, n - shown, next_page
end

--- One record (or any table of fields) as aligned `field  value` lines:
--- the resource's fields in description order, then any others, sorted.
function M.record(t, opts)
  opts = opts or {}
  local r = M.resource(t)
  local names, seen = {}, {}
  for _, f in ipairs(r and r.fields or {}) do
    if rawget(t, f.name) ~= nil then
      names[#names + 1] = f.name
      seen[f.name] = true
    end
  end
  local rest = {}
  for k in next, t do
    if type(k) == "string" and not seen[k] then rest[#rest + 1] = k end
  end
  sort(rest)
  for _, k in ipairs(rest) do names[#names + 1] = k end
  local w = 0
  for _, k in ipairs(names) do w = math.max(w, width(k)) end
  local total = opts.width or 80
  local lines = {}
  for _, k in ipairs(names) do
    local text = cut(cell(rawget(t, k)), math.max(4, total - w - 2))
    local colors = COLORS[k]
    text = paint(text, colors and colors[rawget(t, k)], opts.color)
    lines[#lines + 1] = k .. (" "):rep(w - width(k) + 2) .. text
  end
  if #lines == 0 then return r and (r.record .. " (no fields)") or "{}" end
  return concat(lines, "\n")
end

--- The aligned table of `source`: a page, a list of rows, or an iterator.
--- opts: columns, width (80), max_rows (nil: every row), color.
function M.render(source, opts)
  opts = opts or {}
  if type(source) ~= "table" and type(source) ~= "function" then
    error("kc.table: rows must be a page, a list or an iterator, not a " .. type(source), 2)
  end
  if type(source) == "function" then source = require("kc.iter").of(source) end
  if M.resource(source) then return M.record(source, opts) end
  local rows, hidden, next_page = gather(source, opts.max_rows)
  local cols = columns_for(rows, opts)
  local heads, widths, cells = {}, {}, {}
  for i, c in ipairs(cols) do
    heads[i] = tostring(c)
    widths[i] = width(heads[i])
  end
  for ri, row in ipairs(rows) do
    local line = {}
    for i, c in ipairs(cols) do
      local v
      if type(row) == "table" then v = rawget(row, c) else v = (c == "value") and row or nil end
      line[i] = { text = cell(v), value = v }
      widths[i] = math.max(widths[i], width(line[i].text))
    end
    cells[ri] = line
  end
  widths = fit(widths, heads, opts.width or 80)
  local function join(parts, raw, last_pad)
    local out = {}
    for i, p in ipairs(parts) do
      local pad = (i < #parts) and (" "):rep(widths[i] - width(raw[i])) or ""
      out[i] = p .. pad
    end
    return (concat(out, "  "):gsub(" +$", ""))
  end
  local lines = {}
  local head_raw = {}
  for i, h in ipairs(heads) do head_raw[i] = cut(h, widths[i]) end
  local head_painted = {}
  for i, h in ipairs(head_raw) do head_painted[i] = paint(h, "1", opts.color) end
  lines[1] = join(head_painted, head_raw)
  for _, line in ipairs(cells) do
    local raw, painted = {}, {}
    for i, c in ipairs(line) do
      raw[i] = cut(c.text, widths[i])
      local colors = COLORS[cols[i]]
      painted[i] = paint(raw[i], colors and colors[c.value], opts.color)
    end
    lines[#lines + 1] = join(painted, raw)
  end
  if #rows == 0 then lines[#lines + 1] = "(none)" end
  local more = {}
  if hidden == true then
    more[#more + 1] = "… more"
  elseif hidden > 0 then
    more[#more + 1] = ("… %d more"):format(hidden)
  end
  if next_page then more[#more + 1] = #more > 0 and "more pages" or "… more pages" end
  if #more > 0 then lines[#lines + 1] = paint(concat(more, ", "), "2", opts.color) end
  return concat(lines, "\n")
end

--- Whether t is a plain row: no metatable, string keys, scalar values
--- (the items of org:roles(), a CSV row).
function M.row(t)
  if type(t) ~= "table" or getmetatable(t) ~= nil or next(t) == nil then return false end
  for k, v in next, t do
    if type(k) ~= "string" or type(v) == "table" then return false end
  end
  return true
end

-- What the REPL shows as a table: a page, an iterator, a record, or a
-- non-empty list of records or plain rows.
local function tabular(v)
  if type(v) ~= "table" then return false end
  if named(v, "kc.page") or named(v, "kc.iter") or M.resource(v) then return true end
  local mt = getmetatable(v)
  -- a plain list, or a JSON array (its marker metatable has no behaviour)
  if mt ~= nil and (type(mt) ~= "table" or rawget(mt, "__index") or rawget(mt, "__tostring")) then return false end
  local n = #v
  if n == 0 then return false end
  for k in next, v do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  for i = 1, n do
    if not (M.resource(v[i]) or M.row(v[i])) then return false end
  end
  return true
end

--- For the REPL's printer: the text of `v` when it is tabular (a page, an
--- iterator, a record, a list of records), else nil. `rows` is the
--- terminal's height (nil: not a terminal, every row).
function M.display(v, width, rows, color)
  if not tabular(v) then return nil end
  local max_rows = rows and math.max(3, rows - 4) or nil
  return M.render(v, { width = width, max_rows = max_rows, color = color })
end

--- Adds kc.table.
function M.install(kc)
  kc.table = function(rows, opts)
    if opts ~= nil and type(opts) ~= "table" then
      error("kc.table: options must be a table, not a " .. type(opts), 2)
    end
    return M.render(rows, opts)
  end
end

return M
