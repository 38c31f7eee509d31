"""The shipped admin scripts (`kcsh --run NAME`, stdlib/scripts/) end to end
against a demo sandbox: the list, each one's --help, its work, and a second
run that writes nothing where the script is meant to be idempotent (the
sandbox's request log)."""
import csv
import json
import os
import stat
import subprocess

import pytest

from e2epaths import KCSH, ROOT, clean_env
from sandboxproc import start

NAMES = ["invite", "export", "offboard", "rotate-credentials", "copy-org", "audit"]


@pytest.fixture
def sb():
    s = start("--demo")
    yield s
    s.stop()


def run(sb, *args, cwd=None, input=""):
    env = sb.env() if sb else clean_env(XDG_CONFIG_HOME="/nonexistent")
    return subprocess.run(["kcsh", *args], executable=KCSH, cwd=cwd or ROOT, env=env, input=input, text=True,
                          capture_output=True, timeout=120)


def writes(sb):
    return [(r["method"], r["path"]) for r in sb.requests() if r["method"] != "GET"]


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_list():
    r = run(None, "--run")
    assert r.returncode == 0, r.stderr
    for name in NAMES:
        line = next(l for l in r.stdout.splitlines() if l.split()[:1] == [name])
        assert len(line.split()) > 3  # a description
    assert "invite" in run(None, "--help").stdout.split("--run")[1][:200]


@pytest.mark.parametrize("name", NAMES)
def test_help(name):
    r = run(None, "--run", name, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: kcsh --run " + name)


def test_unknown_script():
    r = run(None, "--run", "nope")
    assert r.returncode == 1 and "no shipped script 'nope'" in r.stderr


def test_invite_twice_writes_nothing_the_second_time(sb, tmp_path):
    f = tmp_path / "people.csv"
    f.write_text("email,role\nnew1@acme.com,org_member\nana@acme.com,org_admin\n"
                 "invitee1@acme.com,org_member\nnew2@acme.com,org_viewer\nNEW1@acme.com,org_member\n")
    sb.clear_requests()
    r = run(sb, "--json", "--run", "invite", "--org", "acme", str(f))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["ok"] == 5 and summary["failed"] == 0
    assert [w[0] for w in writes(sb)] == ["POST", "POST"]
    out = rows(tmp_path / "people.outcome.csv")
    assert [(o["index"], o["outcome"], o["email"], o["action"]) for o in out] == [
        ("1", "ok", "new1@acme.com", "invited"), ("2", "ok", "ana@acme.com", "member"),
        ("3", "ok", "invitee1@acme.com", "pending"), ("4", "ok", "new2@acme.com", "invited"),
        ("5", "ok", "NEW1@acme.com", "pending")]
    assert out[0]["id"]
    sb.clear_requests()
    r = run(sb, "--run", "invite", "--org", "acme", str(f))
    assert r.returncode == 0, r.stderr
    assert writes(sb) == []
    assert {o["action"] for o in rows(tmp_path / "people.outcome.csv")} <= {"member", "pending"}


def test_invite_failed_row(sb, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("email,role\nx@acme.com,nope\nok@acme.com,org_member\n")
    r = run(sb, "--run", "invite", "--org", "acme", "--outcome", str(tmp_path / "o.csv"), str(f))
    assert r.returncode == 1
    out = rows(tmp_path / "o.csv")
    assert out[0]["outcome"] == "failed" and "nope" in out[0]["message"]
    assert out[1]["outcome"] == "ok"


def test_export_json_and_csv_without_secrets(sb, tmp_path):
    r = run(sb, "--run", "export", "--org", "acme", "--output", str(tmp_path / "acme.json"))
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "acme.json").read_text())
    assert {"organization", "users", "invitations", "service_accounts", "credentials", "sso"} <= set(data)
    assert data["users"] and data["credentials"] and data["sso"]["identifier"]
    text = (tmp_path / "acme.json").read_text()
    assert '"client_secret"' not in text
    r = run(sb, "--run", "export", "--org", "acme", "--format", "csv", "--output", str(tmp_path))
    assert r.returncode == 0, r.stderr
    for kind in ["users", "invitations", "service_accounts", "credentials", "sso"]:
        assert (tmp_path / f"{kind}.csv").exists()
    assert "client_secret," not in (tmp_path / "credentials.csv").read_text()
    assert any(u["email"] == "ana@acme.com" for u in rows(tmp_path / "users.csv"))
    assert writes(sb) == []


def test_offboard_file_then_nothing(sb, tmp_path):
    f = tmp_path / "leavers.csv"
    f.write_text("email\nben@acme.com\ninvitee2@acme.com\n")
    r = run(sb, "--run", "offboard", "--org", "acme", str(f))  # stdin not a terminal, no --yes
    assert r.returncode == 1 and "--yes" in r.stderr
    sb.clear_requests()
    r = run(sb, "--run", "offboard", "--org", "acme", "--yes", str(f))
    assert r.returncode == 0, r.stderr
    assert sorted(w[0] for w in writes(sb)) == ["DELETE", "PATCH"]
    out = rows(tmp_path / "leavers.outcome.csv")
    assert {(o["email"], o["kind"], o["action"], o["outcome"]) for o in out} == {
        ("ben@acme.com", "user", "disable", "ok"), ("invitee2@acme.com", "invitation", "revoke", "ok")}
    sb.clear_requests()
    r = run(sb, "--run", "offboard", "--org", "acme", "--yes", str(f))
    assert r.returncode == 0, r.stderr
    assert writes(sb) == []


def test_offboard_filter_remove(sb, tmp_path):
    r = run(sb, "--json", "--run", "offboard", "--org", "globex", "--role", "org_viewer", "--remove", "--yes",
            "--outcome", str(tmp_path / "o.csv"))
    assert r.returncode == 0, r.stderr
    assert all(m == "DELETE" for m, _ in writes(sb))
    r = run(sb, "--json", "-e", 'return kc.org("globex").users:each{role = "org_viewer"}:count()')
    assert json.loads(r.stdout) == 0


def test_rotate_credentials(sb, tmp_path):
    before = json.loads(run(sb, "--json", "-e", '''
      local n = {} for sa in kc.org("acme").service_accounts:each() do
        for c in sa.credentials:each() do n[#n + 1] = c.id end end return n''').stdout)
    secrets = tmp_path / "secrets.csv"
    r = run(sb, "--run", "rotate-credentials", "--org", "acme", "--secrets", str(secrets))  # no --yes: keeps old
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    new = rows(secrets)
    assert new and all(n["client_secret"] for n in new)
    r = run(sb, "--run", "rotate-credentials", "--org", "acme", "--secrets", str(secrets), "--yes")
    assert r.returncode == 1 and "exists" in r.stderr  # never over an old secrets file
    sb.clear_requests()
    r = run(sb, "--run", "rotate-credentials", "--org", "acme", "--secrets", str(tmp_path / "s2.csv"), "--yes")
    assert r.returncode == 0, r.stderr
    deleted = [p for m, p in writes(sb) if m == "DELETE"]
    assert len(deleted) == len(before) + len(new)  # every credential from before this run
    for secret in [n["client_secret"] for n in new]:
        assert secret not in r.stderr and secret not in r.stdout


def test_copy_org_then_nothing(sb, tmp_path):
    r = run(sb, "--json", "--run", "copy-org", "--from", "acme", "--to", "initech",
            "--outcome", str(tmp_path / "o.csv"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["invited"] > 0 and summary["failed"] == 0
    r = run(sb, "--json", "-e", '''local o = kc.org("initech")
      return o.invitations:each():map(function(i) return i.email .. " " .. i.role end), o.sso:get().identifier''')
    invited, sso = [json.loads(l) for l in r.stdout.splitlines()]
    assert "ana@acme.com org_admin" in invited and sso == "https://idp.acme.com"
    sb.clear_requests()
    r = run(sb, "--run", "copy-org", "--from", "acme", "--to", "initech", "--outcome", str(tmp_path / "o.csv"))
    assert r.returncode == 0, r.stderr
    assert writes(sb) == []


def test_copy_org_from_export_file(sb, tmp_path):
    run(sb, "--run", "export", "--org", "acme", "--output", str(tmp_path / "acme.json"))
    org = json.loads(run(sb, "--json", "-e", 'return kc.organizations:create{name = "Copy"}').stdout)
    r = run(sb, "--run", "copy-org", "--from-file", str(tmp_path / "acme.json"), "--to", org["id"],
            "--outcome", str(tmp_path / "o.csv"))
    assert r.returncode == 0, r.stderr
    kinds = {o["kind"] for o in rows(tmp_path / "o.csv")}
    assert kinds == {"invitation", "service_account"}


def test_audit(sb):
    r = run(sb, "--json", "--run", "audit", "--org", "acme", "--days", "30")
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert "ana@acme.com" in a["admins"]
    assert a["disabled_users"] and a["pending_invitations"] and isinstance(a["expired_invitations"], list)
    assert a["unused_credentials"] and a["sso"]["enabled"] is True
    assert "admins (" in r.stderr
    assert writes(sb) == []


def test_rotate_credentials_dry_run_makes_no_secrets_file(sb, tmp_path):
    # A dry run has no secret to keep: a file of placeholders would only
    # stand in the way of the real run, which needs a new file.
    secrets = tmp_path / "secrets.csv"
    sb.clear_requests()
    r = run(sb, "--dry-run", "--run", "rotate-credentials", "--org", "acme", "--secrets", str(secrets), "--yes")
    assert r.returncode == 0, r.stderr
    assert not secrets.exists()
    assert "no secrets file under --dry-run" in r.stderr
    assert "- delete credential key-1 in service account ci" in r.stderr.splitlines()
    assert writes(sb) == []
    # as a real run would, it refuses a file that is there
    secrets.write_text("keep me\n")
    r = run(sb, "--dry-run", "--run", "rotate-credentials", "--org", "acme", "--secrets", str(secrets), "--yes")
    assert r.returncode == 1 and "exists" in r.stderr
    assert secrets.read_text() == "keep me\n"
    r = run(sb, "--run", "rotate-credentials", "--org", "acme", "--secrets", str(tmp_path / "real.csv"), "--yes")
    assert r.returncode == 0, r.stderr
    assert len(rows(tmp_path / "real.csv")) == 2


def test_rotate_credentials_resumes_under_a_journal(sb, tmp_path):
    # A journaled rotation stopped after its creates (the deletes left in
    # flight: the journal edited as a kill would leave it) resumes with the
    # same command: the secrets file it made is written again with the same
    # secrets (the creates are answered from the journal), no credential is
    # made twice, and the deletes are reconciled.
    import sqlite3
    secrets, journal = tmp_path / "secrets.csv", tmp_path / "rotate.db"
    cmd = ["--journal", str(journal), "--run", "rotate-credentials", "--org", "acme", "--secrets", str(secrets), "--yes"]
    r = run(sb, *cmd)
    assert r.returncode == 0, r.stderr
    first = rows(secrets)
    with sqlite3.connect(journal) as db:
        n = db.execute("UPDATE steps SET state = 'sent', answer = NULL WHERE method = 'DELETE'").rowcount
        db.execute("DELETE FROM meta WHERE key = 'finished_at'")
    assert n > 0
    sb.clear_requests()
    r = run(sb, *cmd)
    assert r.returncode == 0, r.stderr
    # (kc.parallel writes rows as creates finish: the order may differ)
    by_account = lambda rs: sorted(rs, key=lambda x: x["service_account"])
    assert by_account(rows(secrets)) == by_account(first) and all(x["client_secret"] for x in first)
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    # The old credentials are gone: the rerun reads none, deletes none, and
    # never deletes the new ones it made before (answered from the journal).
    assert writes(sb) == []
    assert f"({len(first)} answered from the journal, {n} of earlier runs not made again)" in r.stderr
    after = json.loads(run(sb, "--json", "-e", '''
      local n = {} for sa in kc.org("acme").service_accounts:each() do
        for c in sa.credentials:each() do n[#n + 1] = c.client_id end end return n''').stdout)
    assert sorted(after) == sorted(x["client_id"] for x in first)
    view = json.loads(run(sb, "--json", "--show-journal", str(journal)).stdout)
    assert view["finished_at"] and view["summary"]["skipped"] == n
    # Without a journal, an existing secrets file is still refused.
    r = run(sb, "--run", "rotate-credentials", "--org", "acme", "--secrets", str(secrets), "--yes")
    assert r.returncode == 1 and "exists" in r.stderr
