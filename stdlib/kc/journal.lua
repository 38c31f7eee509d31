-- --journal FILE: the write mode (request.lua) that makes a script's writes
-- happen exactly once, however often it is stopped and run again.
--
-- Every write is a step in a SQLite journal: its intent is committed before
-- the request is sent, its outcome after. A step is matched by its method,
-- path and canonical body, and by occurrence (the second identical write is
-- another step), so a rerun of the same command meets its steps again:
--   done       not sent; the script gets the recorded answer (ids included),
--   uncertain  (in flight at the crash) reconciled first: a create is looked
--              up by its natural key (api.lua), an update sent again, a
--              delete that answers 404 is done;
--   failed     sent again;
--   not met    (an earlier run's failed or uncertain step that a run which
--              gets to its end does not make) skipped.
-- Each step's X-Client-Request-ID is derived from the journal and the step,
-- the same on every attempt and every rerun. Under kc.parallel the intents
-- of all the tasks are committed together (sched.sync): one fsync for many.
--
-- The journal keeps each write's answer as it came, so that a rerun hands the
-- script the same records: a credential's client_secret too (the only copy
-- there is). So the file is made 0600, and `kcsh --show-journal FILE` shows
-- the requests, never the answers.

local api = require("kc.api")
local parallel = require("kc.parallel")

local type, pairs, ipairs, tostring, error, pcall, next = type, pairs, ipairs, tostring, error, pcall, next
local setmetatable, getmetatable = setmetatable, getmetatable
local concat = table.concat

local journal = {}

local FORMAT = "kcsh journal 1"
-- Seconds: a record found for an uncertain create was made after its intent
-- less this (clocks differ a little); the bound is kept with the intent.
local SLACK = 120
local RESENDS = 5        -- a write whose outcome stayed uncertain is sent again at most this often
local PAGE = 1000        -- the page size of a reconciling walk
local SORTED = { sorted = true }

local SCHEMA = [[
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE steps(
  seq INTEGER PRIMARY KEY,
  occurrence INTEGER NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  query TEXT,
  body TEXT,
  state TEXT NOT NULL,
  how TEXT,
  status INTEGER,
  answer TEXT,
  record_id TEXT,
  error TEXT,
  started_at TEXT NOT NULL,
  not_before TEXT NOT NULL,
  ended_at TEXT);
]]

local kc, native -- from install
local db, file   -- the open journal and its name
local command     -- the command it belongs to
local run_id      -- 32 hex digits, the root of the request IDs
-- (A step's key is in memory only: an index on it would double what each
-- commit writes.)
local steps = {}  -- "key#occurrence" -> row
local seen = {}   -- key -> occurrences met in this run
local claimed = {} -- ids of records a done step answered with
local dirty = false
local resumed = false -- the journal had steps when this run began
local stats = { replayed = 0, reconciled = 0, skipped = 0 } -- for the exit line

local function now_iso(offset)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + (offset or 0))
end

-- A journal error: where, then why (no traceback: it is not the script's).
local function fail(why)
  error(("journal %s: %s"):format(file, why), 0)
end

-- SQLite's message without its "sqlite: " (the journal's error says where).
local function why(e)
  return (tostring(e):gsub("^sqlite: ", ""))
end

local function sql(method, ...)
  local ok, a, b = pcall(db[method], db, ...)
  if not ok then fail(why(a)) end
  return a, b
end

-- Opens the SQLite file `path` as `db` (made when `new`).
local function connect(path, new)
  local ok, handle = pcall(native.sqlite_open, path, new)
  if not ok then fail(why(handle)) end
  db = handle
end

-- Writes are staged in an open transaction, committed at the next sync.
local function stage(q, ...)
  if not dirty then
    sql("exec", "BEGIN IMMEDIATE")
    dirty = true
  end
  return sql("run", q, ...)
end

local function commit()
  if dirty then
    dirty = false
    sql("exec", "COMMIT")
  end
end

-- Makes what was staged durable before going on: in a kc.parallel task, at
-- the pool's next sync point, with every other task's.
local function sync()
  local sched = parallel.current()
  if sched then sched.sync(commit) else commit() end
end

-- Whether v holds a secret at any depth (named so, or marked in params).
local function holds_secret(v, params)
  if type(v) ~= "table" then return false end
  for k, x in pairs(v) do
    if api.is_secret(k, params) or holds_secret(x) then return true end
  end
  return false
end

-- v without its secrets' values: "(secret)" in their place.
local function masked(v, params)
  if type(v) ~= "table" or v == kc.null then return v end
  local out = {}
  for k, x in pairs(v) do
    out[k] = api.is_secret(k, params) and "(secret)" or masked(x)
  end
  return setmetatable(out, getmetatable(v))
end

-- A value as canonical JSON: keys sorted, secrets as "(secret)" (a secret's
-- value never enters the journal's keys or bodies).
local function canonical(v, params)
  if holds_secret(v, params) then v = masked(v, params) end
  return kc.json.encode(v, SORTED)
end

local function decode(s)
  if s == nil then return nil end
  return kc.json.decode(s)
end

-- An answer's bytes as kc.request would hand them over: decoded, or true
-- when empty (a 204).
local function decode_answer(bytes)
  if bytes == nil or not bytes:find("%S") then return true end
  return kc.json.decode(bytes)
end

local function random_hex(n)
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(n)
  if f then f:close() end
  if not bytes or #bytes < n then fail("cannot read /dev/urandom") end
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- A step's X-Client-Request-ID: the journal's id with the step's number in
-- its last group. `other` (the delete that replaces a credential) inverts
-- the fourth group: another request, as stable.
local function request_id(seq, other)
  local h = run_id
  local fourth = tonumber(h:sub(17, 20), 16)
  if other then fourth = fourth ~ 0xffff end
  return ("%s-%s-%s-%04x-%012x"):format(h:sub(1, 8), h:sub(9, 12), h:sub(13, 16), fourth, seq)
end

-- The meta of an answer the journal gives (`how`: replayed, reconciled).
local function meta_of(row, how)
  return { status = row.status or 200, request_id = row.request_id, attempts = 0, journal = how }
end

-- A resource whose create alone answers a secret: a record found after a
-- lost answer cannot give the script its secret, so it is made again.
local function secret_once(r)
  for _, f in ipairs(r and r.fields or {}) do
    if f.secret then return true end
  end
  return false
end

local function error_json(e)
  if type(e) ~= "table" then return kc.json.encode({ message = tostring(e) }) end
  local fields = {}
  for _, k in ipairs { "kind", "status", "code", "message", "method", "path", "request_id", "attempts" } do
    fields[k] = e[k]
  end
  return kc.json.encode(fields)
end

-- Whether the server may have carried out a write that failed this way.
local function uncertain(e)
  if type(e) ~= "table" then return false end
  if e.kind == "transport" then return true end
  local s = e.status
  return e.kind == "api" and type(s) == "number" and (s == 408 or s == 429 or s >= 500)
end

-- `text` is the answer as it came (or as encoded, for a record found by a
-- look-up), `value` the same decoded.
local function done(row, how, status, text, value)
  row.state, row.how, row.status = "done", how, status
  row.answer = text
  row.record_id = type(value) == "table" and type(value.id) == "string" and value.id or nil
  if row.record_id then claimed[row.record_id] = true end
  stage("UPDATE steps SET state = 'done', how = ?, status = ?, answer = ?, record_id = ?, error = NULL, ended_at = ? WHERE seq = ?",
    how, status, row.answer, row.record_id, now_iso(), row.seq)
  if how == "reconciled" or how == "replaced" then stats.reconciled = stats.reconciled + 1 end
end

local function failed(row, e, still_uncertain)
  row.state = still_uncertain and "sent" or "failed"
  stage("UPDATE steps SET state = ?, error = ?, status = ?, ended_at = ? WHERE seq = ?",
    row.state, error_json(e), type(e) == "table" and e.status or nil, now_iso(), row.seq)
end

-- Looks for the record an uncertain create made: in its collection, by the
-- natural key, made after the step's intent, in the live state, and not the
-- answer of another step. Returns true, record; false (not there); or nil,
-- error (the look-up failed).
local function find_created(row, op, t, body, transport)
  local r = op.resource
  if r.singleton then
    local ok, v = transport { method = "GET", path = t.path }
    if not ok then
      if type(v) == "table" and v.status == 404 then return false end
      return nil, v
    end
    local key = r.natural_key
    if type(v) == "table" and (not key or v[key] == body[key]) then return true, v end
    return false
  end
  local field = r.find_by or r.natural_key
  local want = field and body[field]
  if want == nil then return false end
  local not_before = row.not_before
  local after
  repeat
    local ok, page = transport { method = "GET", path = t.path, query = { limit = PAGE, after = after } }
    if not ok then return nil, page end
    for _, item in ipairs(page.items or {}) do
      local match = item[field] == want and not claimed[item.id]
        and (type(item.created_at) ~= "string" or item.created_at:sub(1, 19) >= not_before:sub(1, 19))
      for k, v in pairs(r.live or {}) do
        if item[k] ~= v then match = false end
      end
      if match then return true, item end
    end
    local info = page.page_info or {}
    after = info.has_next_page and info.end_cursor or nil
  until not after
  return false
end

-- What a write is matched by (with its occurrence): method, path, canonical
-- query and body.
local function step_key(method, path, query, body)
  return method .. " " .. path .. (query and "?" .. query or "") .. (body and " " .. body or "")
end

-- Sends a step's write until it is done, failed for good, or out of tries.
-- `check` says its outcome is uncertain already (in flight at a crash, or a
-- failure a moment ago): a create is looked for before it is sent again.
local function carry_out(row, t, op, body, transport, check)
  local req = {}
  for k, v in pairs(t) do req[k] = v end
  req.request_id = row.request_id
  local keep_bytes = not t.raw
  req.raw = true
  local create = row.method == "POST" and op and not op.returns
  if create then req.once = true end
  local r = op and op.resource
  local tries = 0
  while true do
    if check and create then
      local found, rec = find_created(row, op, t, body, transport)
      if found == nil then -- the look-up failed: still uncertain
        failed(row, rec, true)
        return false, rec
      end
      if found and secret_once(r) then
        -- Its secret went with the lost answer: delete it, make it again.
        local ok, e = transport { method = "DELETE", path = t.path .. "/" .. rec.id, request_id = request_id(row.seq, true) }
        if not ok and not (type(e) == "table" and e.status == 404) then
          failed(row, e, true)
          return false, e
        end
        row.replaced = true
      elseif found then
        done(row, "reconciled", 200, kc.json.encode(rec), rec)
        return true, rec, meta_of(row, "reconciled")
      end
    end
    row.left = true
    local ok, value, m = transport(req)
    if ok then
      -- Kept as the bytes that came (no second encoding), decoded for the
      -- script as kc.request would.
      local text = value
      if keep_bytes then
        local decoded, v = pcall(decode_answer, text)
        if not decoded then
          done(row, row.replaced and "replaced" or "sent", m.status, nil, nil)
          return false, { kind = "decode", status = m.status, message = "the answer is not valid JSON: " .. tostring(v),
            method = row.method, path = row.path, request_id = row.request_id, attempts = m.attempts }
        end
        value = v
      else
        text = type(value) == "string" and value or kc.json.encode(value)
      end
      done(row, row.replaced and "replaced" or "sent", m and m.status or 200, text, value)
      return true, value, m
    end
    if check and row.method == "DELETE" and type(value) == "table" and value.status == 404 then
      -- It went through before: the delete is done.
      done(row, "reconciled", 204, nil, true)
      return true, true, meta_of(row, "reconciled")
    end
    if type(value) == "table" and value.kind == "cancelled" then
      -- Ctrl-C: the server may have it or not; a rerun finds out.
      failed(row, value, true)
      return false, value
    end
    if not uncertain(value) or tries >= RESENDS then
      failed(row, value, uncertain(value))
      return false, value
    end
    tries, check = tries + 1, true
  end
end

--- The write mode's write: journals `t` (kc.request's arguments) and answers
--- it (ok, value, meta), from the journal when it is done already.
---@param t kc.RequestArgs
---@param w table what the write is (request.lua's describe)
---@param transport fun(t: table): boolean, any, table?
function journal.write(t, w, transport)
  local method, op = w.method, w.op
  -- Not a change (the token exchange): an old answer would be a stale token.
  if op and op.returns then return transport(t) end
  local text = nil
  if w.body then text = canonical(w.body, op and op.params) elseif t.body ~= nil then text = tostring(t.body) end
  local query = t.query and next(t.query) and canonical(t.query) or nil
  local key = step_key(method, t.path, query, text)
  local n = (seen[key] or 0) + 1
  seen[key] = n
  local row = steps[key .. "#" .. n]
  if row then row.met = true end
  if row and row.state == "done" then
    stats.replayed = stats.replayed + 1
    local value = t.raw and (row.answer or "") or decode_answer(row.answer)
    return true, value, meta_of(row, "replayed")
  end
  local check = false
  if row then
    -- In flight when an earlier run stopped: the server may have it, so a
    -- create is looked for first. Failed then: it goes out again, and is in
    -- flight again until its outcome is in.
    check = row.state == "sent"
    if row.state ~= "sent" then
      row.state = "sent"
      stage("UPDATE steps SET state = 'sent' WHERE seq = ?", row.seq)
    end
  else
    row = { occurrence = n, method = method, path = t.path, state = "sent", not_before = now_iso(-SLACK), met = true,
      fresh = true }
    local _, seq = stage("INSERT INTO steps(occurrence, method, path, query, body, state, started_at, not_before) "
      .. "VALUES (?, ?, ?, ?, ?, 'sent', ?, ?)", n, method, t.path, query, text, now_iso(), row.not_before)
    row.seq = seq
    row.request_id = request_id(seq)
    steps[key .. "#" .. n] = row
  end
  sync() -- the intent is durable before the request leaves
  return carry_out(row, t, op, w.body or {}, transport, check)
end

-- A new journal, whole or not at all: made under another name and renamed
-- into place once its schema is committed, so that a kill meanwhile leaves
-- no half-made journal (which a rerun would rightly refuse).
local function create(path)
  local tmp = ("%s.new-%s"):format(path, random_hex(4))
  connect(tmp, true)
  sql("exec", "PRAGMA journal_mode = WAL")
  sql("exec", "BEGIN IMMEDIATE")
  sql("exec", SCHEMA)
  local m = { format = FORMAT, id = random_hex(16), command = command or "", created_at = now_iso() }
  for k, v in pairs(m) do sql("run", "INSERT INTO meta(key, value) VALUES (?, ?)", k, v) end
  sql("exec", "COMMIT")
  sql("exec", "PRAGMA wal_checkpoint(TRUNCATE)")
  db:close()
  db = nil
  local renamed, why = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    fail(why)
  end
end

-- Opens `path` as a journal (made when missing and `may_create`): checked
-- whole. Answers its meta table; raises a journal error.
local function open(path, may_create)
  file = path
  local f = io.open(path, "rb")
  if f then
    f:close()
  elseif may_create then
    create(path)
  else
    fail("no such file")
  end
  connect(path, false)
  local okc, rows = pcall(db.rows, db, "PRAGMA integrity_check")
  if not okc or not rows[1] or rows[1].integrity_check ~= "ok" then
    local problem = okc and (rows[1] and rows[1].integrity_check or "empty") or why(rows)
    db:close()
    fail("damaged or not a kcsh journal (" .. problem .. "); nothing was sent")
  end
  local okm, meta = pcall(db.rows, db, "SELECT key, value FROM meta")
  local m = {}
  for _, r in ipairs(okm and meta or {}) do m[r.key] = r.value end
  if m.format ~= FORMAT then
    db:close()
    fail("not a kcsh journal" .. (m.format and (" (its format is " .. m.format .. ")") or "") .. "; nothing was sent")
  end
  return m
end

--- Starts journaling into `path` for `cmd` (request.lua calls it for
--- --journal). A journal of another command is refused.
---@param k table kc
---@param nat {journal: string, journal_command: string, sqlite_open: function}
function journal.start(k, nat)
  kc, native = k, nat
  command = nat.journal_command
  local m = open(nat.journal, true)
  if not db:lock() then
    db:close()
    fail("in use by another kcsh run of it; let that one end first")
  end
  -- Durable on power loss: FULL syncs the WAL at each commit.
  sql("exec", "PRAGMA synchronous = FULL")
  if m.command ~= command then
    db:close()
    fail(("belongs to another command: `%s` (started %s), not `%s`; name another journal file, or remove this one to start over")
      :format(m.command, m.created_at or "?", command))
  end
  run_id = m.id
  for _, r in ipairs(sql("rows", "SELECT seq, occurrence, method, path, query, body, state, status, answer, record_id, "
    .. "not_before FROM steps")) do
    r.key = step_key(r.method, r.path, r.query, r.body)
    r.request_id = request_id(r.seq)
    steps[r.key .. "#" .. r.occurrence] = r
    if r.record_id then claimed[r.record_id] = true end
    resumed = true
  end
  -- os.exit() ends the script without returning: commit first.
  local exit = os.exit
  os.exit = function(code, ...)
    if db then pcall(journal.finish, kc, code == nil or code == true or code == 0) end
    return exit(code, ...)
  end
  return journal
end

--- At exit (ScriptRunner): commits what is staged; when the script ran to
--- its end and every step is done, marks the journal finished. Prints one
--- line on stderr.
---@param ok boolean the script ran to its end
function journal.finish(_, ok)
  if not db then return end
  if ok then
    -- A step an earlier run left failed or in flight that this run, which
    -- ran to its end, did not make: the script no longer wants it (what it
    -- read told it otherwise). Settled as skipped, kept for the view.
    for _, row in pairs(steps) do
      if row.state ~= "done" and row.state ~= "skipped" and not row.met then
        row.state = "skipped"
        stage("UPDATE steps SET state = 'skipped' WHERE seq = ?", row.seq)
        stats.skipped = stats.skipped + 1
      end
    end
  end
  for _, row in pairs(steps) do
    -- An intent of this run whose request never left (its task stopped at
    -- the sync point by Ctrl-C or an error): no step, rather than an
    -- uncertain one.
    if row.state == "sent" and row.fresh and not row.left then
      stage("DELETE FROM steps WHERE seq = ?", row.seq)
    end
  end
  commit()
  local counts = {}
  for _, r in ipairs(sql("rows", "SELECT state, count(*) AS n FROM steps GROUP BY state")) do counts[r.state] = r.n end
  local open_steps = (counts.sent or 0) + (counts.failed or 0)
  if ok and open_steps == 0 then
    sql("run", "INSERT OR REPLACE INTO meta(key, value) VALUES ('finished_at', ?)", now_iso())
  end
  pcall(db.exec, db, "PRAGMA wal_checkpoint(TRUNCATE)")
  db:close()
  db = nil
  local parts = { ("%d done"):format(counts.done or 0) }
  local notes = {}
  if stats.replayed > 0 then notes[#notes + 1] = stats.replayed .. " answered from the journal" end
  if stats.reconciled > 0 then notes[#notes + 1] = stats.reconciled .. " reconciled" end
  if stats.skipped > 0 then notes[#notes + 1] = stats.skipped .. " of earlier runs not made again" end
  if #notes > 0 then parts[1] = parts[1] .. " (" .. concat(notes, ", ") .. ")" end
  parts[#parts + 1] = (counts.failed or 0) .. " failed"
  parts[#parts + 1] = (counts.sent or 0) .. " uncertain"
  -- A run that reached its end with failures only (bad data the script let
  -- pass, say) has nothing to resume: a rerun sends those steps again.
  local tail = ""
  if (counts.sent or 0) > 0 or (open_steps > 0 and not ok) then
    tail = "; run the same command again to resume"
  elseif open_steps > 0 then
    tail = ("; the same command again retries the failed (kcsh --show-journal %s lists them)"):format(file)
  end
  io.stderr:write(("kcsh: journal %s: %s%s\n"):format(file, concat(parts, ", "), tail))
end

-- The steps of a journal as the view shows them.
local function read_steps()
  return sql("rows", "SELECT seq, occurrence, method, path, query, body, state, how, status, error, started_at, ended_at FROM steps ORDER BY seq")
end

local STATE_NAME = { done = "done", failed = "failed", sent = "uncertain", skipped = "skipped" }

--- `kcsh --show-journal FILE [--json]`: a journal's steps, done, failed and
--- uncertain (in flight when the run stopped), the failed with their
--- errors. Changes nothing in it.
---@param k table kc
---@param path string
---@param json boolean
function journal.show(k, path, json)
  kc = k
  local _ = k.request -- fills kc first: install hands over the native half
  local m = open(path, false)
  local rows = read_steps()
  db:close()
  db = nil
  local counts = { done = 0, failed = 0, uncertain = 0, skipped = 0 }
  local texts = {} -- the request as stored: canonical already
  for _, r in ipairs(rows) do
    r.state = STATE_NAME[r.state] or r.state
    counts[r.state] = (counts[r.state] or 0) + 1
    texts[r] = step_key(r.method, r.path, r.query, r.body)
    r.error = r.error and decode(r.error) or nil
    r.body = r.body and decode(r.body) or nil
    r.query = r.query and decode(r.query) or nil
  end
  if json then
    io.stdout:write(kc.json.encode {
      journal = path, command = m.command, created_at = m.created_at, finished_at = m.finished_at or kc.null,
      steps = kc.json.array(rows), summary = counts,
    }, "\n")
    return
  end
  local out = {}
  out[#out + 1] = ("journal %s: `%s`, started %s, %s"):format(path, m.command, m.created_at or "?",
    m.finished_at and ("finished " .. m.finished_at) or "not finished")
  for _, state in ipairs { "done", "failed", "uncertain", "skipped" } do
    local lines = {}
    for _, r in ipairs(rows) do
      if r.state == state then
        local line = ("  #%d %s"):format(r.seq, texts[r])
        if r.how and r.how ~= "sent" then line = line .. " (" .. r.how .. ")" end
        lines[#lines + 1] = line
        if r.error and state ~= "done" then
          local e = setmetatable(r.error, kc.Error)
          lines[#lines + 1] = "      " .. tostring(e)
        end
      end
    end
    if #lines > 0 then
      out[#out + 1] = ""
      out[#out + 1] = state .. ":"
      for _, l in ipairs(lines) do out[#out + 1] = l end
    end
  end
  out[#out + 1] = ""
  out[#out + 1] = ("%d done, %d failed, %d uncertain"):format(counts.done, counts.failed, counts.uncertain)
    .. (counts.skipped > 0 and (", %d skipped"):format(counts.skipped) or "")
  io.stdout:write(concat(out, "\n"), "\n")
end

--- True when this run resumes a journal that earlier runs wrote to: then
--- the files those runs wrote may be written again (admin.secret_file).
function journal.resuming()
  return resumed and db ~= nil
end

--- Keeps the native half (sqlite_open) for start and show.
function journal.install(_, nat)
  native = nat
end

return journal
