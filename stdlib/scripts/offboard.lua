-- Disable or remove the users listed in a CSV file or matching a filter, and revoke their pending invitations.
local admin = require("kc.admin")

local opts = kc.args {
  name = "kcsh --run offboard",
  description = "Disables (or with --remove, removes) the organization's users listed in FILE (an "
    .. "email column) or matching the filters, and revokes their pending invitations. Users already "
    .. "disabled are skipped, so a second run sends no write. Asks before changing anything unless --yes.",
  admin.org_option(),
  { "email-contains", help = "filter: users whose email contains this text (case-insensitive)" },
  { "role", enum = { "org_admin", "org_member", "org_viewer" }, help = "filter: users with this role" },
  { "remove", type = "boolean", help = "remove the users instead of disabling them" },
  { "yes", type = "boolean", help = "do not ask for confirmation" },
  { "outcome", help = "outcome CSV file (default: FILE with .outcome.csv, or offboard.outcome.csv)" },
  { "concurrency", type = "integer", default = 8, help = "requests at once" },
  { "file", positional = true, help = "CSV file with an email column" },
}

if not opts.file and not opts.email_contains and not opts.role then
  io.stderr:write("kcsh --run offboard: give FILE or a filter (--email-contains, --role)\n")
  os.exit(2, true)
end

local org = kc.org(opts.org)
local listed
if opts.file then
  listed = {}
  for row in kc.csv.read(opts.file) do listed[admin.email(row.email)] = true end
end
local needle = opts.email_contains and opts.email_contains:lower()
local function wanted(email, role)
  email = admin.email(email)
  if listed and not listed[email] then return false end
  if needle and not email:find(needle, 1, true) then return false end
  if opts.role and role ~= opts.role then return false end
  return email ~= ""
end

local targets, skipped = {}, 0
for u in org.users:each { limit = 1000 } do
  if wanted(u.email, u.role) then
    if u.status == "disabled" and not opts.remove then
      skipped = skipped + 1
    else
      targets[#targets + 1] = { email = u.email, kind = "user", action = opts.remove and "remove" or "disable", rec = u }
    end
  end
end
for i in org.invitations:each { limit = 1000 } do
  if i.status == "pending" and wanted(i.email, i.role) then
    targets[#targets + 1] = { email = i.email, kind = "invitation", action = "revoke", rec = i }
  end
end

local n_users = 0
for _, t in ipairs(targets) do if t.kind == "user" then n_users = n_users + 1 end end
if #targets == 0 then
  return admin.finish("offboard", nil, nil, nil, { skipped = skipped })
end
if not admin.confirm(("offboard: %s %d users and revoke %d invitations in %s?"):format(
  opts.remove and "remove" or "disable", n_users, #targets - n_users, opts.org), opts.yes) then
  io.stderr:write("offboard: nothing changed\n")
  os.exit(1, true)
end

local report = kc.parallel(targets, function(t)
  if t.action == "disable" then
    t.rec:update { status = "disabled" }
  else
    t.rec:delete()
  end
  return t.rec
end, { concurrency = opts.concurrency, progress = "offboard", on_error = "continue" })

local outcome = opts.outcome or (opts.file and admin.outcome_path(opts.file)) or "offboard.outcome.csv"
return admin.finish("offboard", report, outcome, { "email", "kind", "action" }, { skipped = skipped })
