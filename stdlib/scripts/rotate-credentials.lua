-- Give each matching service account a new credential (secrets to a new 0600 file), then delete the old ones.
local admin = require("kc.admin")

local opts = kc.args {
  name = "kcsh --run rotate-credentials",
  description = "Creates a new credential for each service account whose name contains --match (all "
    .. "of them without it) and writes the new secrets once, as CSV (service_account, name, client_id, "
    .. "client_secret), to --secrets, a new file created 0600. Then, after confirmation or with --yes, "
    .. "deletes the credentials each account had before. Nothing else records a secret.",
  admin.org_option(),
  { "match", help = "only service accounts whose name contains this text" },
  { "secrets", required = true, help = "new file for the new secrets (created 0600; must not exist)" },
  { "name", default = "rotated-" .. os.date("!%Y%m%d"), help = "name of the new credentials" },
  { "yes", type = "boolean", help = "delete the old credentials without asking" },
  { "keep-old", type = "boolean", help = "do not delete the old credentials" },
  { "concurrency", type = "integer", default = 8, help = "requests at once" },
}

local org = kc.org(opts.org)
local accounts = {}
for sa in org.service_accounts:each { limit = 1000 } do
  if not opts.match or (sa.name or ""):find(opts.match, 1, true) then
    accounts[#accounts + 1] = { sa = sa, name = sa.name, old = admin.all(sa.credentials) }
  end
end
if #accounts == 0 then
  io.stderr:write("rotate-credentials: no service account matches\n")
  return { rotated = 0 }
end

local dry_run = require("kc.plan").active()
local out = admin.secret_file(opts.secrets)
local w = kc.csv.writer(out, { columns = { "service_account", "service_account_id", "name", "client_id", "client_secret" } })
local created = kc.parallel(accounts, function(a)
  local cred = a.sa.credentials:create { name = opts.name }
  w:write { service_account = a.name, service_account_id = a.sa.id, name = cred.name, client_id = cred.client_id,
    client_secret = cred.client_secret }
  return cred
end, { concurrency = opts.concurrency, progress = "create", on_error = "continue" })
w:close()
out:close()
io.stderr:write(("rotate-credentials: %d new credentials, %s\n"):format(created.ok,
  dry_run and "no secrets file under --dry-run" or "secrets in " .. opts.secrets))

local old = {}
for i, a in ipairs(accounts) do
  local new = created.results[i]
  if new then -- only where the new credential exists
    for _, c in ipairs(a.old) do
      -- A resumed --journal run read the credential its first run made
      -- among the old ones: never delete the new one.
      if c.id ~= new.id then old[#old + 1] = { cred = c, service_account = a.name, client_id = c.client_id } end
    end
  end
end
local deleted
if #old > 0 and not opts.keep_old
  and admin.confirm(("rotate-credentials: delete %d old credentials?"):format(#old), opts.yes) then
  deleted = kc.parallel(old, function(o)
    o.cred:delete()
    return o.cred
  end, { concurrency = opts.concurrency, progress = "delete", on_error = "continue" })
end
local summary = { created = created.ok, failed = created.failed + (deleted and deleted.failed or 0),
  deleted = deleted and deleted.ok or 0, kept = deleted and 0 or #old, secrets = not dry_run and opts.secrets or nil }
io.stderr:write(("rotate-credentials: %d created, %d old deleted, %d old kept, %d failed\n"):format(
  summary.created, summary.deleted, summary.kept, summary.failed))
if summary.failed > 0 then os.exit(1, true) end
return summary
