-- Pieces the shipped scripts (stdlib/scripts) share: the organization and
-- profile options, lookups by email, confirmation, the outcome file and the
-- summary line. Writes go through the tree (kc.request) as any script's do,
-- so --dry-run and --journal apply to them.

local M = {}

--- The options every script takes, to put in its kc.args declaration.
function M.org_option(help)
  return { "org", required = true, help = help or "organization label or id" }
end

--- Lower-cased email, "" for none.
function M.email(s)
  return type(s) == "string" and s:lower():match("^%s*(.-)%s*$") or ""
end

--- A table of the collection's records by lower-cased email.
function M.by_email(coll, filter)
  local t = {}
  for r in coll:each { limit = 1000 } do
    if r.email and (not filter or filter(r)) then t[M.email(r.email)] = r end
  end
  return t
end

--- Every record of a collection, as a list.
function M.all(coll, args)
  local t = {}
  for r in coll:each(args or { limit = 1000 }) do t[#t + 1] = r end
  return t
end

--- The default outcome file for an input file: x.csv -> x.outcome.csv.
function M.outcome_path(file, given)
  if given and given ~= "" then return given end
  return (file:gsub("%.csv$", "")) .. ".outcome.csv"
end

--- True when the user said yes (or `yes` is set); false when stdin is not
--- a terminal, so nothing destructive happens unasked in a pipeline.
function M.confirm(question, yes)
  if yes then return true end
  local _ = kc.parallel -- fills kc, so the terminal test can answer
  if not require("kc.parallel").isatty(0) then
    io.stderr:write(question .. " (not a terminal: pass --yes to confirm)\n")
    return false
  end
  io.stderr:write(question .. " [y/N] ")
  io.stderr:flush()
  local answer = io.stdin:read("l") or ""
  return answer:lower():match("^y") ~= nil
end

--- Writes the report's outcome file (when there were items), prints the
--- summary on stderr and returns a summary table; exits 1 when items failed.
function M.finish(name, report, outcome, columns, extra)
  local summary = { ok = report and report.ok or 0, failed = report and report.failed or 0 }
  for k, v in pairs(extra or {}) do summary[k] = v end
  if report and outcome then
    report:write_csv(outcome, { columns = columns })
    summary.outcome = outcome
  end
  local parts = {}
  for _, k in ipairs { "ok", "failed", "skipped" } do
    if summary[k] then parts[#parts + 1] = summary[k] .. " " .. k end
  end
  io.stderr:write(name .. ": " .. table.concat(parts, ", ") .. (summary.outcome and (" (outcome: " .. summary.outcome .. ")") or "") .. "\n")
  if summary.failed > 0 then
    io.stdout:flush()
    os.exit(1, true)
  end
  return summary
end

--- Invites each row ({email, role}) to `org`, skipping members and people
--- with a pending invitation (row.action says which: invited, member,
--- pending). Returns kc.parallel's report and the number skipped.
function M.invite(org, rows, opts)
  local members = M.by_email(org.users)
  local pending = M.by_email(org.invitations, function(i) return i.status == "pending" end)
  local skipped = 0
  local report = kc.parallel(rows, function(row)
    local email = M.email(row.email)
    if email == "" then error("row has no email", 0) end
    local have = members[email] or pending[email]
    if have then
      row.action = members[email] and "member" or "pending"
      skipped = skipped + 1
      return have
    end
    pending[email] = true -- the same address twice in one file: one invitation
    local inv = org.invitations:create { email = row.email, role = row.role }
    pending[email] = inv
    row.action = "invited"
    return inv
  end, { concurrency = opts and opts.concurrency or 8, progress = opts and opts.progress or "invite", on_error = "continue" })
  return report, skipped
end

--- Opens a new file readable by its owner only (0600) for secrets; refuses
--- a file that exists, so no secret is written over or beside another's
--- (unless a resumed --journal run writes its own file again). Under
--- --dry-run nothing is made and what is written goes nowhere.
function M.secret_file(path)
  local f = io.open(path, "r")
  if f then
    f:close()
    -- A resumed journal hands back the same secrets: the file an earlier
    -- run of the same command made is written again, whole.
    if not require("kc.journal").resuming() then error("'" .. path .. "' exists: secrets go to a new file", 0) end
    local out, err = io.open(path, "w")
    if not out then error(err, 0) end
    return out
  end
  -- A dry run makes no secret, so it makes no file: one full of
  -- placeholders would stand in the way of the real run (it must be new).
  if require("kc.plan").active() then
    local out, err = io.open("/dev/null", "w")
    if not out then error(err, 0) end
    return out
  end
  local quoted = "'" .. path:gsub("'", "'\\''") .. "'"
  if not os.execute("umask 077 && set -C && : > " .. quoted) then
    error("cannot create '" .. path .. "'", 0)
  end
  local out, err = io.open(path, "w")
  if not out then error(err, 0) end
  return out
end

--- The organization's SSO connection, or nil when SSO is not enabled.
function M.sso(org)
  local ok, sso = pcall(org.sso.get, org.sso)
  if ok then return sso end
  if type(sso) == "table" and sso.status == 404 then return nil end
  error(sso, 0)
end

local json = require("kc.json")

--- A record's fields as plain data, without any secret.
function M.plain(rec)
  local t = json.to_json(rec)
  if type(t) == "table" then t.client_secret = nil end
  return t
end

--- Everything an export holds: the organization, its users, invitations,
--- service accounts (each with its credentials, no secrets) and SSO (no
--- secret), as plain data.
function M.snapshot(org)
  local A = kc.json.array
  local snap = { organization = M.plain(org), users = A {}, invitations = A {}, service_accounts = A {}, credentials = A {} }
  for u in org.users:each { limit = 1000 } do snap.users[#snap.users + 1] = M.plain(u) end
  for i in org.invitations:each { limit = 1000 } do snap.invitations[#snap.invitations + 1] = M.plain(i) end
  for sa in org.service_accounts:each { limit = 1000 } do
    local t = M.plain(sa)
    t.credentials = A {}
    for c in sa.credentials:each { limit = 1000 } do
      local ct = M.plain(c)
      t.credentials[#t.credentials + 1] = ct
      ct.service_account_id = sa.id
      snap.credentials[#snap.credentials + 1] = ct
    end
    snap.service_accounts[#snap.service_accounts + 1] = t
  end
  local sso = M.sso(org)
  snap.sso = sso and M.plain(sso) or kc.null
  return snap
end

--- Days since an RFC 3339 time (UTC), or nil.
function M.days_since(stamp, now)
  if type(stamp) ~= "string" then return nil end
  local y, mo, d, h, mi, s = stamp:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then return nil end
  local t = os.time { year = y, month = mo, day = d, hour = h, min = mi, sec = s, isdst = false }
  local utc_now = now or os.time(os.date("!*t"))
  return (utc_now - t) / 86400
end

return M
