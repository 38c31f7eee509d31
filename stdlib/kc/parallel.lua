-- kc.parallel(source, fn, opts): fn(item, index) for every item of source,
-- each in its own coroutine. A kc call inside fn does not wait for its answer:
-- the request glue (kc.request, kc.request_async) asks the scheduler here,
-- which starts the request on the client's I/O thread and yields; the
-- coroutine is resumed when the answer is in. So up to `concurrency` requests
-- travel at once while one Lua thread runs every task.
--
-- One limiter serves the pool: a 429 or 503 that asks for a wait pauses every
-- task and halves the concurrency (AIMD: it grows back by one after each run
-- of successes), and `rate` caps requests per second. A request that still
-- failed for a transient cause after the client's retries is sent again later,
-- so a flaky server costs time, not items.

local native -- kc's native half: queue(), now(), isatty(), enter(), leave() (RequestQueue.swift)

local coroutine, setmetatable, type, error, select = coroutine, setmetatable, type, error, select
local floor, min, max = math.floor, math.min, math.max

local M = {}

-- The scheduler that owns each running task (weak: a finished coroutine goes).
local owner = setmetatable({}, { __mode = "k" })
local AWAIT = {} -- what a task yields: AWAIT, ticket
local SYNC = {}  -- or SYNC: it waits for the pool's next sync point (sched.sync)

---@class kc.ParallelError
---@field index integer the item's position in the source
---@field item any the item
---@field error any the API error (a kc.Error) or a Lua error with its traceback

---@class kc.ParallelReport
---@field ok integer items whose fn returned
---@field failed integer items whose fn raised
---@field errors kc.ParallelError[] in the order they happened
---@field results table fn's first return value by index (unless opts.results = false)
---@field elapsed number seconds
---@field requests integer HTTP attempts made
---@field throttled integer 429/503 answers that asked the pool to wait
local Report = { __name = "kc.parallel.report" }
Report.__index = Report

function Report:__tostring()
  return string.format("kc.parallel: %d ok, %d failed, %d requests, %d throttled, %.1f s",
    self.ok, self.failed, self.requests, self.throttled, self.elapsed)
end

--- One row per item, in source order: index, outcome (ok or failed), the
--- error's status, code and message, and the result's id; `opts.columns`
--- adds fields of the item (a CSV row's email, say; for items that succeeded,
--- only when results are kept). Returns the rows written.
---@param path string|file*
---@param opts? {columns?: string[]}
---@return integer
function Report:write_csv(path, opts)
  opts = opts or {}
  local extra = opts.columns or {}
  local failed = {}
  for _, e in ipairs(self.errors) do failed[e.index] = e end
  local n = self.ok + self.failed
  local columns = { "index", "outcome", "status", "code", "message", "id" }
  for _, c in ipairs(extra) do columns[#columns + 1] = c end
  local items = self._items
  local i = 0
  return require("kc.csv").write(path, function()
    i = i + 1
    if i > n then return nil end
    local row = { index = i }
    local e = failed[i]
    if e then
      row.outcome = "failed"
      local err = e.error
      if type(err) == "table" then
        row.status, row.code, row.message = err.status, err.code, err.message
      else
        row.message = tostring(err):match("^[^\n]*")
      end
    else
      row.outcome = "ok"
      local r = self.results[i]
      if type(r) == "table" then row.id = r.id end
    end
    local item = e and e.item or (items and items[i])
    for _, c in ipairs(extra) do
      row[c] = type(item) == "table" and item[c] or nil
    end
    return row
  end, { columns = columns })
end

local Interrupted = { __name = "kc.error" }
Interrupted.__index = Interrupted
function Interrupted:__tostring() return "interrupted" end

-- A transient failure: worth sending again once the client gave up on it.
local function transient(e)
  if type(e) ~= "table" then return false end
  if e.kind == "transport" then return true end
  local s = e.status
  return e.kind == "api" and (s == 408 or s == 429 or (type(s) == "number" and s >= 500))
end

local RESEND_BUDGET = 5

--- The source as a next function, and its length when it is known.
local function pull(source)
  local t = type(source)
  if t == "table" then
    local mt = getmetatable(source)
    if mt and mt.__name == "kc.iter" then
      return source._next, source._count, function() source:close() end
    end
    if mt and mt.__call then
      return function() return source() end
    end
    local i = 0
    return function()
      i = i + 1
      return source[i]
    end, function() return #source end
  elseif t == "function" then
    return source
  end
  error("bad argument #1 to 'kc.parallel' (table, kc iterator or function expected, got " .. t .. ")", 3)
end

local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error("bad argument #3 to 'kc.parallel' (table expected, got " .. type(opts) .. ")", 3)
  end
  local known = { concurrency = true, rate = true, on_error = true, results = true, progress = true, adaptive = true }
  for k in pairs(opts) do
    if not known[k] then
      local names = {}
      for n in pairs(known) do names[#names + 1] = n end
      local hint = require("kc.check").suggest(tostring(k), names)
      error("kc.parallel: unknown option '" .. tostring(k) .. "'" .. (hint and (" (did you mean '" .. hint .. "'?)") or ""), 3)
    end
  end
  local c = opts.concurrency
  if c ~= nil and (math.type(c) ~= "integer" or c < 1) then
    error("kc.parallel: 'concurrency' must be a positive integer, got " .. tostring(c), 3)
  end
  if opts.rate ~= nil and (type(opts.rate) ~= "number" or opts.rate <= 0) then
    error("kc.parallel: 'rate' must be a positive number of requests a second, got " .. tostring(opts.rate), 3)
  end
  if opts.on_error ~= nil and opts.on_error ~= "stop" and opts.on_error ~= "continue" then
    error("kc.parallel: 'on_error' must be \"stop\" or \"continue\", got " .. tostring(opts.on_error), 3)
  end
  local p = opts.progress
  if p ~= nil and type(p) ~= "boolean" and type(p) ~= "string" then
    error("kc.parallel: 'progress' must be a boolean or a label, got " .. type(p), 3)
  end
  return opts
end

-- The one-line progress bar on stderr: at most ten redraws a second.
local function progress_bar(label, n)
  local last, start = -1, native.now()
  local bar = {}
  function bar.draw(r, now, limit, force)
    if not force and now - last < 0.1 then return end
    last = now
    local done = r.ok + r.failed
    local rate = done / max(now - start, 1e-3)
    local parts = { label or "kc.parallel" }
    if n and n > 0 then
      parts[#parts + 1] = string.format("%d/%d (%d%%)", done, n, floor(done * 100 / n))
    else
      parts[#parts + 1] = tostring(done)
    end
    parts[#parts + 1] = string.format("%.0f/s", rate)
    if n and n > done and rate > 0 then parts[#parts + 1] = string.format("ETA %ds", floor((n - done) / rate + 0.5)) end
    if r.failed > 0 then parts[#parts + 1] = r.failed .. " failed" end
    parts[#parts + 1] = "concurrency " .. limit
    io.stderr:write("\r\27[K", table.concat(parts, "  "))
  end
  function bar.clear() io.stderr:write("\r\27[K") end
  return bar
end

---@param source table|function a list, a kc iterator or an iterator function
---@param fn fun(item: any, index: integer): any
---@param opts? {concurrency?: integer, rate?: number, on_error?: "stop"|"continue", results?: boolean, progress?: boolean|string, adaptive?: boolean}
---@return kc.ParallelReport
function M.parallel(source, fn, opts)
  local mt = type(fn) == "table" and getmetatable(fn)
  if type(fn) ~= "function" and not (mt and mt.__call) then
    error("bad argument #2 to 'kc.parallel' (function expected, got " .. type(fn) .. ")", 2)
  end
  local nextitem, total, closesource = pull(source)
  opts = check_opts(opts)
  local ceiling = opts.concurrency or 8
  local adaptive = opts.adaptive ~= false
  local keep = opts.results ~= false
  local stop_on_error = opts.on_error == "stop"
  local now = native.now
  local q = native.queue()
  local started = now()

  local report = setmetatable({ ok = 0, failed = 0, errors = {}, results = {}, elapsed = 0,
    requests = 0, throttled = 0, _items = {} }, Report)
  local sched = {}
  -- AIMD: the concurrency now; successes since it last changed; when it was
  -- last cut (throttles of requests sent before that are the same congestion)
  local limit, successes, cut_at = ceiling, 0, -math.huge
  local paused_until = 0
  local rate, tokens, filled = opts.rate, 1, started
  local active, exhausted, index = 0, false, 0
  -- A ticket is one request a task waits for: {request =, tag =, task =,
  -- outcome =, resends =}; its tag is the native queue's, new at each send.
  local tickets, nticket, bytag = {}, 0, {}
  local sendq, sq_head, sq_tail = {}, 1, 0 -- tickets waiting for a slot
  local delayed = {} -- tickets waiting out a backoff: {at =, ticket =}
  local inflight = 0
  local failure -- the first error, under on_error = "stop"
  -- Tasks waiting at a sync point, and what runs there once for them all.
  local parked, syncs = {}, {}

  local bar
  if opts.progress ~= false and native.isatty(2) then
    -- the total is asked before the first item is pulled: a kc iterator's
    -- count() walks the rest once the walk has started
    bar = progress_bar(type(opts.progress) == "string" and opts.progress or nil, total and total())
  end

  -- From a task, through the request glue: a ticket for request t. The
  -- native half checks t now, so a bad argument is raised in the task.
  function sched.start(t)
    local tag = q.prepare(t)
    nticket = nticket + 1
    tickets[nticket] = { request = t, tag = tag, resends = 0 }
    bytag[tag] = nticket
    sq_tail = sq_tail + 1
    sendq[sq_tail] = nticket
    return nticket
  end

  -- From a task: the ticket's answer (ok, value, meta), yielding until it is in.
  function sched.await(id)
    local tk = tickets[id]
    if not tk then error("kc.parallel: the request was cancelled", 2) end
    if not tk.outcome then coroutine.yield(AWAIT, id) end
    tickets[id] = nil
    return table.unpack(tk.outcome, 1, 3)
  end

  -- From a task: runs fn once at the pool's next sync point, together with
  -- every other task's (a journal's group commit: one fsync for all the
  -- intents written since), and goes on after it. The point comes when no
  -- answer is waiting to be handled, so the tasks that arrive meanwhile join.
  function sched.sync(fn)
    syncs[fn] = true
    coroutine.yield(SYNC)
  end

  function sched.cancel(id)
    local tk = tickets[id]
    if tk and not tk.outcome then
      tickets[id] = nil
      if tk.tag then
        bytag[tk.tag] = nil
        q.cancel(tk.tag)
        if tk.sent then inflight = inflight - 1 end
      end
    end
  end

  local function finish_task(task, ok, ...)
    active = active - 1
    if not ok and q.interrupted() then return end -- Ctrl-C: not the item's failure
    if ok then
      report.ok = report.ok + 1
      if keep then
        report.results[task.index] = (...)
        report._items[task.index] = task.item -- for write_csv's item columns
      end
    else
      local e = ...
      report.failed = report.failed + 1
      report.errors[#report.errors + 1] = { index = task.index, item = task.item, error = e }
      if stop_on_error and not failure then failure = e end
    end
  end

  -- Runs a task until it waits for an answer that is not in, or ends.
  local enter, leave, coresume = native.enter, native.leave, coroutine.resume
  local function resume(task, ...)
    local co = task.co
    enter(co)
    local ok, a, b, c = leave(coresume(co, ...))
    while true do
      if not ok then
        -- raised outside fn's xpcall: the interrupt hook, say
        return finish_task(task, false, a)
      elseif coroutine.status(co) == "dead" then
        return finish_task(task, a, b, c)
      elseif a == SYNC then
        parked[#parked + 1] = task
        return
      elseif a ~= AWAIT then
        coroutine.close(co)
        return finish_task(task, false, "kc.parallel: fn yielded outside a kc call (coroutine.yield in fn?)")
      end
      local tk = tickets[b]
      if not tk.outcome then
        tk.task = task
        return
      end
      enter(co)
      ok, a, b, c = leave(coresume(co))
    end
  end

  local function traceback(e)
    if type(e) == "string" then return debug.traceback(e, 2) end
    return e
  end

  local function spawn(item)
    index = index + 1
    local co = coroutine.create(function(it, i) return xpcall(fn, traceback, it, i) end)
    local task = { co = co, item = item, index = index }
    owner[co] = sched
    active = active + 1
    resume(task, item, index)
  end

  local function deliver(id, outcome)
    local tk = tickets[id]
    if not tk then return end
    tk.outcome = outcome
    local task = tk.task
    if task then
      tk.task = nil
      resume(task)
    end
  end

  -- Nothing is left running: requests cancelled, tasks closed, source closed.
  local function cancel_everything()
    q.cancel()
    for _, task in ipairs(parked) do coroutine.close(task.co) end
    parked = {}
    for id, tk in pairs(tickets) do
      tickets[id] = nil
      if tk.task then coroutine.close(tk.task.co) end
    end
    if closesource then closesource() end
    closesource = nil
    report.elapsed = now() - started
    if bar then bar.clear() end
  end

  local function fail_fast(e)
    cancel_everything()
    error(e, 0)
  end

  -- Sends what waits, as the limiter allows.
  local function send_ready(t)
    for i = #delayed, 1, -1 do
      local d = delayed[i]
      if d.at <= t then
        table.remove(delayed, i)
        sq_tail = sq_tail + 1
        sendq[sq_tail] = d.ticket
      end
    end
    if rate then
      tokens = min(max(1, rate / 10), tokens + (t - filled) * rate)
      filled = t
    end
    while sq_head <= sq_tail and inflight < limit and t >= paused_until and (not rate or tokens >= 1) do
      local id = sendq[sq_head]
      sendq[sq_head] = nil
      sq_head = sq_head + 1
      local tk = tickets[id]
      if tk then
        if not tk.tag then -- a re-send: a new native request
          tk.tag = q.prepare(tk.request)
          bytag[tk.tag] = id
        end
        if rate then tokens = tokens - 1 end
        local sent, why = pcall(q.send, tk.tag)
        if not sent then fail_fast(why) end -- no client (no credentials): no item can run
        tk.sent, tk.sent_at = true, t
        inflight = inflight + 1
      end
    end
  end

  -- An answer: a success grows the pool back, a transient failure waits to
  -- be sent again, anything else goes to its task.
  local function answered(tag, ok, value, meta)
    local id = bytag[tag]
    bytag[tag] = nil
    local tk = id and tickets[id]
    if not tk then return end
    inflight = inflight - 1
    tk.sent, tk.tag = false, nil
    local info = ok and meta or value -- both carry attempts
    report.requests = report.requests + (type(info) == "table" and info.attempts or 1)
    if ok then
      successes = successes + 1
      if adaptive and limit < ceiling and successes >= limit then
        limit, successes = limit + 1, 0
      end
    else
      -- (A write sent `once`, a journaled create, is the journal's to send
      -- again: it looks for the record first.)
      if transient(value) and tk.resends < RESEND_BUDGET and not tk.request.once then
        tk.resends = tk.resends + 1
        delayed[#delayed + 1] = { at = now() + min(0.25 * 2 ^ (tk.resends - 1), 4), ticket = id }
        return
      end
    end
    deliver(id, { ok, value, meta })
  end

  -- The sync point: each fn once, then the tasks that waited for it go on.
  local function sync_point()
    local fns, tasks = syncs, parked
    syncs, parked = {}, {}
    for fn in pairs(fns) do fn() end
    for _, task in ipairs(tasks) do resume(task) end
  end

  local function interrupted()
    cancel_everything()
    return setmetatable({ kind = "interrupted", message = "interrupted", report = report }, Interrupted)
  end

  local function run()
    while true do
      -- Pull items while the pool has room.
      while not exhausted and not failure and active < limit do
        local item = nextitem()
        if item == nil then
          exhausted = true
          if closesource then closesource() end
          closesource = nil
        else
          spawn(item)
        end
      end
      if failure then fail_fast(failure) end

      local t = now()
      send_ready(t)
      if exhausted and active == 0 then break end

      -- Wait for an answer, or until something waiting is due.
      local wake = t + (bar and 0.1 or 1)
      for _, d in ipairs(delayed) do wake = min(wake, d.at) end
      if sq_head <= sq_tail then
        if paused_until > t then wake = min(wake, paused_until) end
        if rate and tokens < 1 then wake = min(wake, t + (1 - tokens) / rate) end
      end
      local ev, tag, x, y, z = q.next(#parked > 0 and 0 or max(0, wake - t))
      if ev == nil and #parked > 0 then
        sync_point()
      elseif ev == "done" then
        answered(tag, x, y, z)
      elseif ev == "throttled" then
        report.throttled = report.throttled + 1
        -- One congestion event per round: a throttle of a request sent before
        -- the last one neither pauses again nor cuts again.
        local tk = tickets[bytag[tag]]
        if not (tk and tk.sent_at and tk.sent_at < cut_at) then
          local at = now()
          paused_until, cut_at = max(paused_until, at + x), at
          if adaptive then limit, successes = max(1, limit // 2), 0 end
        end
      elseif ev == "interrupted" then
        error(interrupted(), 0)
      end
      if bar then bar.draw(report, now(), limit) end
      if failure then fail_fast(failure) end
    end
  end

  -- Whatever ends the run early (an error of the source, Ctrl-C's hook in
  -- the scheduler's own code), nothing it started is left running.
  local ok, e = pcall(run)
  if not ok then
    if q.interrupted() then e = interrupted() else cancel_everything() end
    error(e, 0)
  end
  report.elapsed = now() - started
  report._items = keep and report._items or nil
  if bar then bar.clear() end
  return report
end

--- The scheduler of the running task, if a kc.parallel task is running.
function M.current()
  local co = coroutine.running()
  return owner[co]
end

--- True when fd (0, 1, 2) is a terminal (for the shipped scripts' prompts).
function M.isatty(fd)
  return native ~= nil and native.isatty(fd) or false
end

function M.install(kc, nat)
  native = nat
  kc.parallel = M.parallel
end

return M
