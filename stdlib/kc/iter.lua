-- Iterators in the style of vim.iter: an object with __call (so it goes
-- straight into a generic `for`) whose stages chain: filter, map (a nil
-- result drops the item), take, skip, enumerate; and terminals: collect,
-- count, first, fold, any, all, find.
-- An item is every value the source returns at once (pairs gives key and
-- value); it ends where the first value is nil, as in a `for`. Stages pass
-- the values on through tail-called helpers, never packing them in a table.
-- Paging (pages()) is written once here: follow end_cursor while
-- has_next_page, with the next page requested before the caller starts on
-- the current one.

local setmetatable, getmetatable, type, error, select, tostring =
  setmetatable, getmetatable, type, error, select, tostring
local mtype, min, max = math.type, math.min, math.max

local Iter = { __name = "kc.iter" }
Iter.__index = Iter

local iter = { Iter = Iter }

--- An iterator over `nextfn` (returns the next item, nil at the end).
--- `close` releases what the source holds (a request in flight); `count`
--- answers count() without walking, when the source can; `one` says every
--- item is a single value (lists, pages), which lets the stages skip the
--- vararg path (Lua 5.4's vararg calls cost about twice a plain one).
function iter.new(nextfn, close, count, one)
  return setmetatable({ _next = nextfn, _close = close, _count = count, _one = one }, Iter)
end

--- An iterator over the items of a list table.
function iter.list(t)
  local i = 0
  return iter.new(function()
    i = i + 1
    return t[i]
  end, nil, nil, true)
end

local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(f) == "table" and mt ~= nil and mt.__call ~= nil
end

local function ended() return nil end

--- An iterator over what a generic `for` would walk: `f(s, c)` gives the
--- next item, whose first value is the next control value. `closing` (Lua
--- 5.4's fourth value, as io.lines gives) is closed at the end or with the
--- iterator, as the `for` would close it.
function iter.call(f, s, c, closing)
  local function close()
    local cl = closing
    closing = nil
    local mt = getmetatable(cl)
    if mt and mt.__close then mt.__close(cl, nil) end
  end
  -- The item, passed on; after the end the source is not called again (a
  -- restarted pairs would begin anew).
  local function step(v, ...)
    if v == nil then
      f = ended
      if closing ~= nil then close() end
    end
    c = v
    return v, ...
  end
  return iter.new(function() return step(f(s, c)) end, closing ~= nil and close or nil)
end

--- kc.iter: a list table, an iterator (kept as it is), or what a generic
--- `for` takes (`kc.iter(pairs(t))`, `kc.iter(ipairs(t))`, a function or a
--- callable table).
function iter.of(x, s, c, closing)
  if getmetatable(x) == Iter then return x end
  if callable(x) then return iter.call(x, s, c, closing) end
  if type(x) == "table" then return iter.list(x) end
  error("bad argument #1 to 'kc.iter' (table or function expected, got " .. type(x) .. ")", 2)
end

function Iter:__call()
  return self._next()
end

-- Closing stops a page request in flight: `local it <close> = ...`,
-- take/first/collect/count/fold/any/all/find when they are done, or the
-- collector after a `break` (no request is made after the loop either way).
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
local function stage(self, nextfn, count, one)
  return setmetatable({ _next = nextfn, _close = self._close, _count = count, _one = one }, Iter)
end

local function checkfn(f, name, argn)
  if not callable(f) then
    error(("bad argument #%d to '%s' (function expected, got %s)"):format(argn or 1, name, type(f)), 3)
  end
end

local function checkcount(k, name, expected)
  if mtype(k) ~= "integer" or k < 0 then
    error(("bad argument #1 to '%s' (%s expected, got %s)"):format(name, expected or "non-negative integer", tostring(k)), 3)
  end
end

-- Closes `self` (the terminal is done with it), then answers `...`.
local function finish(self, ...)
  self:close()
  return ...
end

--- Keeps the items for which `f(...)` is true.
function Iter:filter(f)
  checkfn(f, "filter")
  local n = self._next
  if self._one then
    return stage(self, function()
      local v = n()
      while v ~= nil and not f(v) do v = n() end
      return v
    end, nil, true)
  end
  local function keep(...)
    if ... == nil or f(...) then return ... end
    return keep(n())
  end
  return stage(self, function() return keep(n()) end)
end

--- Replaces each item by what `f(...)` returns (several values make an item
--- of several values); items for which `f` returns nil are dropped.
function Iter:map(f)
  checkfn(f, "map")
  local n = self._next
  local pull
  local function emit(...)
    if ... ~= nil then return ... end
    return pull()
  end
  if self._one then
    function pull()
      local v = n()
      if v == nil then return nil end
      return emit(f(v))
    end
    return stage(self, pull)
  end
  local function apply(...)
    if ... == nil then return nil end
    return emit(f(...))
  end
  function pull() return apply(n()) end
  return stage(self, pull)
end

--- The first `k` items; the source is closed once they are taken.
function Iter:take(k)
  checkcount(k, "take")
  local n, taken, it = self._next, 0, nil
  local count = self._count and function() return min(k, self._count()) end
  it = stage(self, function()
    if taken >= k then
      it:close()
      return nil
    end
    taken = taken + 1
    if taken < k then return n() end
    return finish(it, n())
  end, count, self._one)
  return it
end

--- Drops the first `k` items, or (given a function) the items while
--- `pred(...)` is true; nothing is pulled until the first item is asked for.
function Iter:skip(k)
  local n, skipping = self._next, true
  if callable(k) then
    local function drop(...)
      if ... ~= nil and k(...) then return drop(n()) end
      skipping = false
      return ...
    end
    return stage(self, function()
      if skipping then return drop(n()) end
      return n()
    end, nil, self._one)
  end
  checkcount(k, "skip", "non-negative integer or function")
  local count = self._count and function()
    local c = self._count()
    if skipping then return max(0, c - k) end
    return c
  end
  return stage(self, function()
    if skipping then
      skipping = false
      for _ = 1, k do
        if n() == nil then return nil end
      end
    end
    return n()
  end, count, self._one)
end

--- Each item with its index (from 1) before its values.
function Iter:enumerate()
  local n, i = self._next, 0
  local function number(...)
    if ... == nil then return nil end
    i = i + 1
    return i, ...
  end
  return stage(self, function() return number(n()) end, self._count)
end

--- All the (remaining) items, in a list; an item of several values becomes
--- a list of them (as vim.iter's totable does).
function Iter:collect()
  local out, i, n = {}, 0, self._next
  if self._one then
    for v in n do
      i = i + 1
      out[i] = v
    end
    self:close()
    return out
  end
  local function put(v, ...)
    if v == nil then return false end
    i = i + 1
    if select("#", ...) == 0 then out[i] = v else out[i] = { v, ... } end
    return true
  end
  while put(n()) do end
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
  local c, n = 0, self._next
  while n() ~= nil do c = c + 1 end
  self:close()
  return c
end

--- The first item's values (or nil); the rest is not fetched.
function Iter:first()
  return finish(self, self._next())
end

--- `f(acc, ...)` over every item, from `acc = init`: the last accumulator.
function Iter:fold(init, f)
  checkfn(f, "fold", 2)
  local acc, n = init, self._next
  local function step(...)
    if ... == nil then return false end
    acc = f(acc, ...)
    return true
  end
  while step(n()) do end
  self:close()
  return acc
end

-- The values of the first item for which pred(...) is true, pulled from n.
local function search(n, pred)
  local function look(...)
    if ... == nil or pred(...) then return ... end
    return look(n())
  end
  return look(n())
end

--- Whether `pred(...)` is true for some item; stops at the first.
function Iter:any(pred)
  checkfn(pred, "any")
  return finish(self, search(self._next, pred) ~= nil)
end

--- Whether `pred(...)` is true for every item; stops at the first false.
function Iter:all(pred)
  checkfn(pred, "all")
  return finish(self, search(self._next, function(...) return not pred(...) end) == nil)
end

--- The values of the first item for which `f(...)` is true, or whose first
--- value equals `f` when it is not a function (nil if none); stops there.
function Iter:find(f)
  if not callable(f) then
    local want = f
    f = function(v) return v == want end
  end
  return finish(self, search(self._next, f))
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
  -- Servers have shipped keyset bugs that repeat rows at equal timestamps,
  -- or hand back a cursor already seen (a walk that never ends): the ids
  -- and cursors of this walk so far.
  local seen, cursors, broken = {}, {}, nil
  local function advance(page)
    items, i, n = page.items or {}, 0, #(page.items or {})
    local info = page.page_info
    if info and info.has_next_page and info.end_cursor then
      local cursor = info.end_cursor
      if cursors[cursor] then
        -- this page's items still come; the walk stops after them
        done, broken = true, "kc: the server sent page cursor '" .. tostring(cursor)
          .. "' twice in one walk; stopping rather than loop (a paging bug on the server)"
        return
      end
      cursors[cursor] = true
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
      if broken then error(broken, 0) end
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
    while i < n do
      i = i + 1
      local v = items[i]
      items[i] = nil -- the loop keeps no more than two pages alive
      local id = v.id
      if id == nil or not seen[id] then
        if id ~= nil then seen[id] = true end
        if mt then setmetatable(v, mt) end
        return v
      end
    end
    return turn()
  end
  local function close()
    done, items, n, broken = true, {}, 0, nil
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
  return iter.new(nextfn, close, countfn, true)
end

return iter
