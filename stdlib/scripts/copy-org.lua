-- Copy an organization's structure (people as invitations, service accounts, SSO) into another, also across profiles.
local admin = require("kc.admin")

local opts = kc.args {
  name = "kcsh --run copy-org",
  description = "Copies the structure of --from (an organization of this profile) or --from-file (the "
    .. "JSON that `kcsh --run export` wrote, from any profile) into --to: each active user and pending "
    .. "invitation becomes an invitation with the same role, each service account is created by name "
    .. "(no credentials: their secrets cannot be copied), and SSO is enabled with the same identifier "
    .. "and client id (the client secret is not copied; set it with org.sso:update). What --to already "
    .. "has is skipped, so a second run sends no write. Across profiles: "
    .. "`kcsh --profile a --run export --org X --output x.json`, then "
    .. "`kcsh --profile b --run copy-org --from-file x.json --to Y`.",
  { "from", help = "source organization (this profile)" },
  { "from-file", help = "source: a JSON file written by kcsh --run export" },
  { "to", required = true, help = "target organization" },
  { "outcome", default = "copy-org.outcome.csv", help = "outcome CSV file" },
  { "concurrency", type = "integer", default = 8, help = "requests at once" },
}

if (opts.from == nil) == (opts.from_file == nil) then
  io.stderr:write("kcsh --run copy-org: give one of --from and --from-file\n")
  os.exit(2, true)
end

local snap = opts.from_file and kc.json.read(opts.from_file) or admin.snapshot(kc.org(opts.from))
local to = kc.org(opts.to)

-- People: active users and pending invitations, as invitations.
local people, seen = {}, {}
local function person(email, role)
  local e = admin.email(email)
  if e ~= "" and not seen[e] then
    seen[e] = true
    people[#people + 1] = { email = email, role = role, kind = "invitation" }
  end
end
for _, u in ipairs(snap.users or {}) do
  if u.status == "active" then person(u.email, u.role) end
end
for _, i in ipairs(snap.invitations or {}) do
  if i.status == "pending" then person(i.email, i.role) end
end
local report, skipped = admin.invite(to, people, { concurrency = opts.concurrency, progress = "people" })

-- Service accounts, by name.
local have = {}
for sa in to.service_accounts:each { limit = 1000 } do have[sa.name] = sa end
local accounts = {}
for _, sa in ipairs(snap.service_accounts or {}) do
  if have[sa.name] then
    skipped = skipped + 1
  else
    accounts[#accounts + 1] = { name = sa.name, description = sa.description, kind = "service_account" }
  end
end
local sa_report = kc.parallel(accounts, function(a)
  local args = { name = a.name }
  if type(a.description) == "string" then args.description = a.description end
  a.action = "created"
  return to.service_accounts:create(args)
end, { concurrency = opts.concurrency, progress = "service accounts", on_error = "continue" })

-- SSO: enabled with the same identifier and client id, unless already on.
local sso_note = "off in the source"
local sso = snap.sso
if type(sso) == "table" and sso.identifier then
  if admin.sso(to) then
    sso_note = "already on in the target"
    skipped = skipped + 1
  else
    to.sso:enable { identifier = sso.identifier, client_id = sso.client_id }
    sso_note = "enabled (set its client secret with org.sso:update)"
  end
end
io.stderr:write("copy-org: sso " .. sso_note .. "\n")

-- One outcome file: people first, then service accounts.
local rows = {}
for i, p in ipairs(people) do
  local e
  for _, err in ipairs(report.errors) do if err.index == i then e = err end end
  local r = report.results[i]
  rows[#rows + 1] = { kind = "invitation", name = p.email, role = p.role, action = e and "" or p.action,
    outcome = e and "failed" or "ok", message = e and tostring(type(e.error) == "table" and e.error.message or e.error):match("^[^\n]*") or nil,
    id = type(r) == "table" and r.id or nil }
end
for i, a in ipairs(accounts) do
  local e
  for _, err in ipairs(sa_report.errors) do if err.index == i then e = err end end
  local r = sa_report.results[i]
  rows[#rows + 1] = { kind = "service_account", name = a.name, action = e and "" or a.action, outcome = e and "failed" or "ok",
    message = e and tostring(type(e.error) == "table" and e.error.message or e.error):match("^[^\n]*") or nil,
    id = type(r) == "table" and r.id or nil }
end
kc.csv.write(opts.outcome, rows, { columns = { "kind", "name", "role", "action", "outcome", "message", "id" } })
local failed = report.failed + sa_report.failed
local invited = 0
for _, p in ipairs(people) do if p.action == "invited" then invited = invited + 1 end end
io.stderr:write(("copy-org: %d invited, %d service accounts created, %d skipped, %d failed (outcome: %s)\n"):format(
  invited, sa_report.ok, skipped, failed, opts.outcome))
if failed > 0 then os.exit(1, true) end
return { invited = invited, service_accounts = sa_report.ok, skipped = skipped, failed = failed, sso = sso_note, outcome = opts.outcome }
