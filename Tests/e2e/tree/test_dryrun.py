"""--dry-run against a sandbox: reads are sent, writes never are (the
sandbox's request log); the plan's lines and counts on stderr, its JSON
(--plan-out); planned records chain (a credential on a planned service
account); no secret in the plan; kc.parallel tasks plan too."""
import json

import pytest

from sandboxproc import start
from treelib import kcsh

# Touches every resource kind: invitations, users, organizations, service
# accounts, credentials, SSO; a raw kc.request write; kc.parallel.
SCRIPT = r'''
local org = kc.org("acme")
local inv = org.invitations:create{email = "zoe@acme.com", role = "org_member"}
assert(kc.planned(inv) and inv.email == "zoe@acme.com" and inv.id:find("^planned%."))
local ana
for u in org.users:each() do if u.email == "ana@acme.com" then ana = u end end
ana:update{role = "org_viewer"}
assert(ana.role == "org_viewer" and kc.planned(ana))
local sa = org.service_accounts:create{name = "ci-new"}
local cred = sa.credentials:create{name = "deploy"}
assert(kc.planned(sa) and kc.planned(cred))
assert(#sa.credentials:list().items == 1)
local old = org.service_accounts:create{name = "ci-old"}
old:delete()
org.sso:enable{identifier = "https://idp.acme.com", client_id = "kc", client_secret = "TOPSECRET-1"}
org.sso:update{client_secret = "TOPSECRET-2"}
org:update{name = "Acme Two"}
kc.request{method = "POST", path = "/organizations/acme/invitations", body = {email = "raw@acme.com", role = "org_admin"}}
local r = kc.parallel({"p1@acme.com", "p2@acme.com", "p3@acme.com"}, function(e)
  return org.invitations:create{email = e, role = "org_member"}
end, {concurrency = 3})
assert(r.ok == 3)
assert(kc.planned(org) and not kc.planned(kc.org("acme")))  -- updated: planned state
print("ran to the end")
'''


@pytest.fixture(scope="module")
def sandbox():
    s = start("--demo")
    yield s
    s.stop()


def test_dry_run_sends_no_write_and_prints_the_plan(sandbox, tmp_path):
    sandbox.clear_requests()
    out = tmp_path / "plan.json"
    r = kcsh(SCRIPT, sandbox, args=("--dry-run", "--plan-out", str(out)))
    assert r.rc == 0, r.err
    assert r.lines == ["ran to the end"]
    methods = {q["method"] for q in sandbox.requests()}
    assert methods == {"GET"}, methods
    lines = r.err.splitlines()
    for line in [
        "+ create invitation zoe@acme.com (org_member) in acme",
        "+ create service account ci-new in acme",
        "+ create credential deploy in service account ci-new",
        "+ create invitation raw@acme.com (org_admin) in acme",
        "+ create invitation p1@acme.com (org_member) in acme",
        "~ update user ana@acme.com: role org_admin -> org_viewer",
        '~ update organization acme: name "Acme Corp" -> "Acme Two"',
        "- delete service account ci-old",
    ]:
        assert line in lines, r.err
    assert lines[-1] == "Plan: 9 to create, 3 to update, 1 to delete."
    # Grouped: every create before every update, every update before every delete.
    kinds = [l[0] for l in lines if l[:2] in ("+ ", "~ ", "- ")]
    assert kinds == sorted(kinds, key="+~-".index)
    assert "TOPSECRET" not in r.err
    text = out.read_text()
    assert "TOPSECRET" not in text
    plan = json.loads(text)
    assert plan["summary"] == {"create": 9, "update": 3, "delete": 1}
    assert len(plan["changes"]) == 13
    cred = [c for c in plan["changes"] if c["resource"] == "credential"][0]
    assert cred["parent"] == "service account ci-new" and cred["planned_id"].startswith("planned.")


def test_an_empty_plan(sandbox):
    r = kcsh("print(kc.planned({}), kc.planned(kc.org('acme')))", sandbox, args=("--dry-run",))
    assert r.rc == 0, r.err
    assert r.lines == ["false\tfalse"]
    assert r.err.splitlines()[-1] == "Plan: 0 to create, 0 to update, 0 to delete."


def test_a_failing_write_fails_as_it_would(sandbox):
    # The current record of an update is read: a missing one is the same 404.
    sandbox.clear_requests()
    r = kcsh('kc.org("acme").users:update("nobody-at-all-0000000000", {role = "org_viewer"})', sandbox,
             args=("--dry-run",))
    assert r.rc == 1
    assert "404" in r.err or "not found" in r.err.lower()
    assert r.err.splitlines()[-1] == "Plan: 0 to create, 0 to update, 0 to delete."
    assert {q["method"] for q in sandbox.requests()} == {"GET"}


def test_plan_out_needs_dry_run(tmp_path):
    r = kcsh("", None, args=("--plan-out", str(tmp_path / "p.json")))
    assert r.rc == 2
    assert "'--plan-out' needs '--dry-run'" in r.err


# The operations SCRIPT leaves out, on existing records: every write of every
# resource kind is planned between the two.
REST = r'''
local new = kc.organizations:create{name = "Umbrella"}
assert(kc.planned(new))
local org = kc.org("globex")
local u = org.users:list{limit = 1}.items[1]
u:delete()
local inv = org.invitations:list{limit = 1}.items[1]
inv:delete()
local sa
for x in org.service_accounts:each() do if x.name == "backup" then sa = x end end
sa:update{description = "nightly"}
local creds = sa.credentials:list().items
creds[1]:update{name = "renamed"}
creds[2]:delete()
kc.org("acme").sso:disable()
local h = kc.request_async{method = "POST", path = "/organizations/acme/invitations",
  body = '{"email": "async@acme.com", "role": "org_viewer"}'}
assert(kc.planned(h:wait()))
print(u.email, inv.email)
'''


def test_dry_run_plans_every_other_write(sandbox):
    sandbox.clear_requests()
    r = kcsh(REST, sandbox, args=("--dry-run",))
    assert r.rc == 0, r.err
    user, invitee = r.lines[0].split("\t")
    assert {q["method"] for q in sandbox.requests()} == {"GET"}
    lines = r.err.splitlines()
    for line in [
        "+ create organization Umbrella",
        f"- delete user {user}",
        f"- delete invitation {invitee}",
        '~ update service account backup: description "Demo service account backup" -> nightly',
        # a credential's line names its service account: two can share a name
        "~ update credential key-1 in service account backup: name key-1 -> renamed",
        "- delete credential key-2 in service account backup",
        "- delete sso connection https://idp.acme.com",
        "+ create invitation async@acme.com (org_viewer) in acme",  # a JSON text body, async
    ]:
        assert line in lines, r.err
    assert lines[-1] == "Plan: 2 to create, 2 to update, 4 to delete."
