-- Invite each row of a CSV file (email, role), skipping members and pending invitations.
local admin = require("kc.admin")

local opts = kc.args {
  name = "kcsh --run invite",
  description = "Invites each row of FILE (columns email and role) to the organization, skipping "
    .. "people who are already members or have a pending invitation, so a second run of the same "
    .. "file sends no write. Writes one outcome row per input row (index, outcome, status, code, "
    .. "message, id, email, role, action).",
  admin.org_option(),
  { "outcome", help = "outcome CSV file (default: FILE with .outcome.csv)" },
  { "concurrency", type = "integer", default = 8, help = "requests at once" },
  { "file", positional = true, required = true, help = "CSV file with email and role columns" },
}

local org = kc.org(opts.org)
local rows = {}
for row in kc.csv.read(opts.file) do rows[#rows + 1] = row end

local report, skipped = admin.invite(org, rows, { concurrency = opts.concurrency })
return admin.finish("invite", report, admin.outcome_path(opts.file, opts.outcome),
  { "email", "role", "action" }, { skipped = skipped })
