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

return M
