-- Iterators in the style of vim.iter: an object with __call (so it goes
-- straight into a generic `for`) whose stages chain: filter, map (a nil
-- result drops the item), take; and terminals: collect, count, first.
-- Paging (pages()) is written once here: follow end_cursor while
-- has_next_page, with the next page requested before the caller starts on
-- the current one.

local setmetatable, type, error = setmetatable, type, error

local Iter = { __name = "kc.iter" }
Iter.__index = Iter

local iter = { Iter = Iter }

--- An iterator over `nextfn` (returns the next item, nil at the end).
--- `close` releases what the source holds (a request in flight); `count`
--- answers count() without walking, when the source can.
function iter.new(nextfn, close, count)
  return setmetatable({ _next = nextfn, _close = close, _count = count }, Iter)
end

--- An iterator over the items of a list table.
function iter.list(t)
  local i = 0
  return iter.new(function()
    i = i + 1
    return t[i]
  end)
end

function Iter:__call()
  return self._next()
end

-- Closing stops a page request in flight: `local it <close> = ...`,
-- take/first/collect/count when they are done, or the collector after a
-- `break` (no request is made after the loop either way).
function Iter:__close()
  local close = self._close
  if close then
    self._close = nil
    close()
  end
end

Iter.close = Iter.__close

function Iter:__tostring()
  return "kc.iter"
end

-- Every stage is a new iterator over the previous one's next function; the
-- close function is shared, so closing the last stage closes the source.
local function stage(self, nextfn, count)
  return setmetatable({ _next = nextfn, _close = self._close, _count = count }, Iter)
end

local function checkfn(f, name)
  if type(f) ~= "function" and not (type(f) == "table" and getmetatable(f) and getmetatable(f).__call) then
    error("bad argument #1 to '" .. name .. "' (function expected, got " .. type(f) .. ")", 3)
  end
end

--- Keeps the items for which `f(item)` is true.
function Iter:filter(f)
  checkfn(f, "filter")
  local n = self._next
  return stage(self, function()
    local v = n()
    while v ~= nil and not f(v) do v = n() end
    return v
  end)
end

--- Replaces each item by `f(item)`; items for which `f` returns nil are dropped.
function Iter:map(f)
  checkfn(f, "map")
  local n = self._next
  return stage(self, function()
    local v = n()
    while v ~= nil do
      local m = f(v)
      if m ~= nil then return m end
      v = n()
    end
  end)
end

--- The first `k` items; the source is closed once they are taken.
function Iter:take(k)
  if math.type(k) ~= "integer" or k < 0 then
    error("bad argument #1 to 'take' (non-negative integer expected, got " .. tostring(k) .. ")", 2)
  end
  local n, taken, it = self._next, 0, nil
  local count = self._count and function() return math.min(k, self._count()) end
  it = stage(self, function()
    if taken >= k then
      it:close()
      return nil
    end
    taken = taken + 1
    local v = n()
    if v == nil or taken == k then it:close() end
    return v
  end, count)
  return it
end

--- All the (remaining) items, in a list.
function Iter:collect()
  local out, n, next = {}, 0, self._next
  for v in next do
    n = n + 1
    out[n] = v
  end
  self:close()
  return out
end

--- How many items remain: from the server's total when the API gives one
--- and no stage changed it, else by walking them.
function Iter:count()
  if self._count then
    local c = self._count()
    self:close()
    return c
  end
  local n, next = 0, self._next
  while next() ~= nil do n = n + 1 end
  self:close()
  return n
end

--- The first item (or nil); the rest is not fetched.
function Iter:first()
  local v = self._next()
  self:close()
  return v
end

--- Pages of a list, lazily. `fetch(cursor_args, async)` requests one page
--- and returns its decoded answer, or (async) a handle whose :wait() does;
--- items get metatable `mt` (records), when given.
--- Returns an Iter over the items of every page.
function iter.pages(fetch, mt, count)
  local items, i, n = nil, 0, 0
  local done = false
  -- The request in flight lives here: when the loop is left by `break` and
  -- the iterator is collected, __gc stops it.
  local flight = setmetatable({}, { __gc = function(f)
    if f.pending then f.pending:cancel() end
  end })
  local function advance(page)
    items, i, n = page.items or {}, 0, #(page.items or {})
    local info = page.page_info
    if info and info.has_next_page and info.end_cursor then
      -- Prefetch: the next page travels while the caller works on this one.
      flight.pending = fetch({ after = info.end_cursor }, true)
    else
      done = true
    end
  end
  local nextfn
  -- The slow path, once a page: the next page's items, or the end.
  local function turn()
    if items == nil then
      advance(fetch({}, false))
    elseif done then
      return nil
    else
      local h = flight.pending
      flight.pending = nil
      advance(h:wait())
    end
    return nextfn()
  end
  -- The per-item path: as little as possible.
  function nextfn()
    if i < n then
      i = i + 1
      local v = items[i]
      items[i] = nil -- the loop keeps no more than two pages alive
      if mt then setmetatable(v, mt) end
      return v
    end
    return turn()
  end
  local function close()
    done, items, n = true, {}, 0
    if flight.pending then
      flight.pending:cancel()
      flight.pending = nil
    end
  end
  -- The server's total holds only before the walk starts; after, walk.
  local countfn = count and function()
    if items == nil then return count() end
    local c = 0
    while nextfn() ~= nil do c = c + 1 end
    return c
  end
  return iter.new(nextfn, close, countfn)
end

return iter
