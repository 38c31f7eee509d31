-- Report admins, disabled users, pending and expired invitations, credentials unused for N days and SSO state.
local admin = require("kc.admin")

local opts = kc.args {
  name = "kcsh --run audit",
  description = "Prints a report of the organization: its admins, disabled users, pending and expired "
    .. "invitations, credentials not used for --days days (by last_used_at; never used counts as unused) "
    .. "and whether SSO is on. With kcsh --json the report is one JSON object.",
  admin.org_option(),
  { "days", type = "integer", default = 90, help = "a credential unused this long is reported" },
}

local org = kc.org(opts.org)
local A = kc.json.array
local r = { organization = org.label or org.id, admins = A {}, disabled_users = A {}, pending_invitations = A {},
  expired_invitations = A {}, unused_credentials = A {}, sso = { enabled = false } }

for u in org.users:each { limit = 1000 } do
  if u.role == "org_admin" and u.status == "active" then r.admins[#r.admins + 1] = u.email or u.id end
  if u.status == "disabled" then r.disabled_users[#r.disabled_users + 1] = u.email or u.id end
end
for i in org.invitations:each { limit = 1000 } do
  local expired = i.status == "expired" or (i.status == "pending" and (admin.days_since(i.expires_at) or -1) > 0)
  if expired then
    r.expired_invitations[#r.expired_invitations + 1] = i.email
  elseif i.status == "pending" then
    r.pending_invitations[#r.pending_invitations + 1] = i.email
  end
end
for sa in org.service_accounts:each { limit = 1000 } do
  for c in sa.credentials:each { limit = 1000 } do
    local days = admin.days_since(c.last_used_at)
    if days == nil or days >= opts.days then
      r.unused_credentials[#r.unused_credentials + 1] = { service_account = sa.name, credential = c.name,
        client_id = c.client_id, last_used_at = c.last_used_at or kc.null }
    end
  end
end
local sso = admin.sso(org)
if sso then r.sso = { enabled = true, identifier = sso.identifier, client_id = sso.client_id, client_secret_set = sso.client_secret_set } end

local function section(title, list)
  io.stderr:write(("%s (%d)\n"):format(title, #list))
  for _, v in ipairs(list) do
    if type(v) == "table" then
      io.stderr:write(("  %s / %s  %s  last used %s\n"):format(v.service_account, v.credential, v.client_id,
        v.last_used_at == kc.null and "never" or v.last_used_at))
    else
      io.stderr:write("  " .. tostring(v) .. "\n")
    end
  end
end
section("admins", r.admins)
section("disabled users", r.disabled_users)
section("pending invitations", r.pending_invitations)
section("expired invitations", r.expired_invitations)
section("credentials unused for " .. opts.days .. " days", r.unused_credentials)
io.stderr:write("sso: " .. (r.sso.enabled and ("on, " .. r.sso.identifier) or "off") .. "\n")
return r
