-- Export an organization (users, invitations, service accounts, credentials and SSO, no secrets) to JSON or CSV files.
local admin = require("kc.admin")

local opts = kc.args {
  name = "kcsh --run export",
  description = "Writes the organization's users, invitations, service accounts, their credentials "
    .. "(never a secret) and SSO connection (no secret): one JSON file, or with --format csv one CSV "
    .. "file per kind (users.csv, invitations.csv, service_accounts.csv, credentials.csv, sso.csv) in DIR.",
  admin.org_option(),
  { "format", default = "json", enum = { "json", "csv" } },
  { "output", help = "JSON file (default ORG.json; - for stdout), or the directory for CSV (default .)" },
}

local org = kc.org(opts.org)
local snap = admin.snapshot(org)

if opts.format == "json" then
  local out = opts.output or (opts.org .. ".json")
  kc.json.write(out, snap, { pretty = true })
  if out ~= "-" then io.stderr:write("export: " .. out .. "\n") end
  return { file = out, users = #snap.users, invitations = #snap.invitations, service_accounts = #snap.service_accounts }
end

local dir = opts.output or "."
local function csv(name, rows, columns)
  local path = dir .. "/" .. name .. ".csv"
  kc.csv.write(path, rows, { columns = columns })
  io.stderr:write("export: " .. path .. "\n")
  return path
end
local files = {
  csv("users", snap.users, { "id", "email", "role", "status", "source", "created_at", "updated_at" }),
  csv("invitations", snap.invitations, { "id", "email", "role", "status", "expires_at", "created_by", "created_at" }),
  csv("service_accounts", snap.service_accounts, { "id", "name", "description", "created_at", "updated_at" }),
  csv("credentials", snap.credentials, { "id", "service_account_id", "name", "client_id", "description", "last_used_at", "created_at" }),
  csv("sso", snap.sso ~= kc.null and { snap.sso } or {}, { "id", "identifier", "client_id", "client_secret_set", "created_at", "updated_at" }),
}
return { files = files }
