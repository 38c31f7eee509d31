"""--journal FILE: every write a step, made exactly once however often the
run is killed and run again. Against sandboxes (some with faults): SIGKILL at
random points then reruns (exact end state, then a finished journal sends no
write), request IDs stable across retries and reruns, Ctrl-C, an error half
way then a fixed rerun, refused journals (damaged, truncated, empty,
foreign) that send nothing, usage errors and KCSH_JOURNAL, --show-journal
(text and JSON, no secret), updates and deletes, and uncertain steps
reconciled by natural key (the journal edited with sqlite3)."""
import json
import os
import random
import re
import signal
import sqlite3
import stat
import subprocess
import time

import pytest

from sandboxproc import start
from treelib import KCSH, ROOT, clean_env

REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-([0-9a-f]{12})")
SUMMARY = re.compile(r"^kcsh: journal (.+): (\d+) done(?: \(([^)]*)\))?, (\d+) failed, (\d+) uncertain"
                     r"(; run the same command again to (resume)|; the same command again (retries) the failed"
                     r" \(kcsh --show-journal \S+ lists them\))?$", re.M)
WRITES = {"POST", "PATCH", "DELETE"}


# --- helpers ------------------------------------------------------------------

def script_file(tmp_path, text, name="script.lua"):
    p = tmp_path / name
    p.write_text(text)
    return p


def argv(script, journal, *args, extra=()):
    return [str(KCSH), *extra, *(["--journal", str(journal)] if journal else []), str(script), *map(str, args)]


def run(sandbox, cmd, env=None, timeout=120):
    e = sandbox.env(**(env or {}))
    return subprocess.run(cmd, env=e, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def summary(err):
    """The journal's exit line: (done, notes, failed, uncertain, what a rerun
    does): "resume" (a run that stopped or left steps in flight), "retries"
    (a run that reached its end with failed steps), or "" (nothing left)."""
    m = SUMMARY.findall(err)
    assert len(m) == 1, f"expected one journal line on stderr:\n{err}"
    _, done, notes, failed, unc, _, resume, retries = m[0]
    return int(done), notes, int(failed), int(unc), resume or retries


def log(sandbox, after=0):
    """The sandbox's request log after seq `after` (oldest first)."""
    r = sandbox.get("/_sandbox/requests", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return [q for q in r.json()["items"] if q["seq"] > after]


def marker(sandbox):
    """The seq of the newest request the sandbox logged (0: none)."""
    r = sandbox.get("/_sandbox/requests", params={"limit": 1})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    return items[-1]["seq"] if items else 0


def writes(items):
    return [q for q in items if q["method"] in WRITES]


def collect(sandbox, path):
    """Every item of a collection, through its pages (no faults)."""
    out, after = [], None
    while True:
        params = {"limit": 1000}
        if after:
            params["after"] = after
        r = sandbox.get(path, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text)
        page = r.json()
        out += page["items"]
        info = page.get("page_info") or {}
        if not info.get("has_next_page"):
            return out
        after = info["end_cursor"]


def steps(journal):
    db = sqlite3.connect(str(journal))
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM steps ORDER BY seq")]
    finally:
        db.close()


def edit(journal, sql, *params):
    db = sqlite3.connect(str(journal))
    try:
        n = db.execute(sql, params).rowcount
        db.commit()
        return n
    finally:
        db.close()


def show(journal, *extra):
    r = subprocess.run([str(KCSH), "--show-journal", str(journal), *extra], cwd=ROOT, capture_output=True,
                       text=True, timeout=60, env=clean_env(XDG_CONFIG_HOME="/nonexistent"))
    assert r.returncode == 0, r.stderr
    return r.stdout


# --- 1. SIGKILL at random points, reruns, exact end state ---------------------

CHAOS = r'''
local n, m = tonumber(arg[1]), tonumber(arg[2])
local org = kc.organizations:create{ name = "Journal Chaos" }
local emails = {}
for i = 1, n do emails[i] = ("person%d@example.com"):format(i) end
local r = kc.parallel(emails, function(email)
  return org.invitations:create{ email = email, role = "org_member" }
end, { concurrency = 16, progress = false })
if r.failed > 0 then error(("%d invitations failed: %s"):format(r.failed, tostring(r.errors[1].error))) end
for i = 1, n do assert(r.results[i].email == emails[i]) end
for i = 1, m do
  local sa = org.service_accounts:create{ name = ("robot-%02d"):format(i) }
  local cred = sa.credentials:create{ name = "deploy" }
  assert(type(cred.client_secret) == "string" and #cred.client_secret > 0, "no client_secret for " .. sa.name)
end
print(org.id)
'''
N_INVITES, N_ACCOUNTS = 300, 24


def test_killed_at_random_points_then_rerun_makes_each_change_exactly_once(tmp_path):
    rnd = random.Random(20261207)
    s = start("--faults", "lost=0.05,reset=0.03,503=0.1,retry-after=50ms", "--seed", "11")
    try:
        script = script_file(tmp_path, CHAOS)
        journal = tmp_path / "chaos.journal"
        cmd = argv(script, journal, N_INVITES, N_ACCOUNTS)
        kills = 0
        # Killed at random points of its work (counted in requests, whatever
        # the machine's speed): three among the invitations, two among the
        # service accounts and credentials (the requests to their paths).
        plan = [(None, rnd.randint(10, 120)) for _ in range(3)] + \
               [("/service-accounts", rnd.randint(2, 30)) for _ in range(2)]
        for where, threshold in plan:
            first = marker(s)
            p = subprocess.Popen(cmd, env=s.env(), cwd=ROOT, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while p.poll() is None:
                if where is None:
                    n = marker(s) - first
                else:
                    n = sum(1 for q in log(s, first) if where in q["path"])
                if n >= threshold:
                    p.send_signal(signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.003)
            p.wait(30)
        assert kills == 5, "the runs ended before they could be killed: make the work bigger"
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
        # Partly done: some steps of each kind are in the journal.
        before = steps(journal)
        assert any(st["state"] == "done" for st in before)
        for attempt in range(12):
            r = run(s, cmd, timeout=180)
            if r.returncode == 0:
                break
            # A run under faults may fail for want of retries; it must say to resume.
            assert summary(r.err)[4] == "resume", r.err
        else:
            pytest.fail(f"no run finished:\n{r.stderr}")
        org_id = r.stdout.split()[-1]
        done, notes, failed, unc, resume = summary(r.stderr)
        total = 1 + N_INVITES + 2 * N_ACCOUNTS
        assert (done, failed, unc, resume) == (total, 0, 0, ""), r.stderr
        assert "answered from the journal" in notes
        # The faults and kills left steps uncertain, and the reruns found them.
        hows = [st["how"] for st in steps(journal)]
        assert "reconciled" in hows, hows
    finally:
        s.faults("")
    try:
        orgs = [o for o in collect(s, "/organizations") if o["name"] == "Journal Chaos"]
        assert [o["id"] for o in orgs] == [org_id]
        invs = collect(s, f"/organizations/{org_id}/invitations")
        emails = sorted(i["email"] for i in invs)
        assert emails == sorted(f"person{i}@example.com" for i in range(1, N_INVITES + 1)), \
            f"{len(emails)} invitations for {N_INVITES} people"
        assert {i["status"] for i in invs} == {"pending"}
        sas = collect(s, f"/organizations/{org_id}/service-accounts")
        names = sorted(a["name"] for a in sas)
        assert names == [f"robot-{i:02d}" for i in range(1, N_ACCOUNTS + 1)]
        for a in sas:
            creds = collect(s, f"/organizations/{org_id}/service-accounts/{a['id']}/credentials")
            assert [c["name"] for c in creds] == ["deploy"], (a["name"], creds)
        # The finished journal: a rerun answers everything and sends no write.
        mark = marker(s)
        again = run(s, cmd)
        assert again.returncode == 0, again.stderr
        assert again.stdout.split()[-1] == org_id
        assert summary(again.stderr) == (total, f"{total} answered from the journal", 0, 0, "")
        assert writes(log(s, mark)) == []
        assert "finished " in show(journal).splitlines()[0]
    finally:
        s.stop()


# --- 2. request IDs -------------------------------------------------------------

IDS = r'''
local org = kc.organizations:create{ name = "Request IDs" }
for i = 1, 25 do org.invitations:create{ email = ("rid%d@example.com"):format(i), role = "org_member" } end
local sa = org.service_accounts:create{ name = "rid" }
for i = 1, 25 do sa:update{ description = "take " .. i } end
print(org.id, sa.id)
'''


def test_a_steps_request_id_is_the_same_on_every_attempt_and_every_rerun(tmp_path):
    s = start("--faults", "lost=0.2,503=0.2,retry-after=10ms", "--seed", "5")
    try:
        script = script_file(tmp_path, IDS)
        journal = tmp_path / "ids.journal"
        cmd = argv(script, journal)
        for _ in range(6):
            r = run(s, cmd)
            if r.returncode == 0:
                break
        assert r.returncode == 0, r.stderr
        s.faults("")
        items = writes(log(s))
        by_seq = {st["seq"]: st for st in steps(journal)}
        prefixes = set()
        groups = {}
        for q in items:
            m = REQUEST_ID.fullmatch(q["request_id"] or "")
            assert m, q
            seq = int(m.group(1), 16)
            st = by_seq.get(seq)
            assert st is not None, f"request ID {q['request_id']} names no step"
            assert (q["method"], q["path"]) == (st["method"], st["path"]), (q, st)
            prefixes.add(q["request_id"][:23])
            groups.setdefault(q["request_id"], []).append(q)
        assert len(prefixes) == 1, prefixes  # one journal, one root
        assert len(groups) == len(by_seq)    # each step sent at least once, each under its own ID
        # Faulted attempts were sent again under the same ID: a PATCH whose reply
        # was lost, and a create that got a 503.
        retried = {rid: g for rid, g in groups.items() if len(g) > 1}
        assert any(g[0]["method"] == "PATCH" and g[0]["fault"] == "lost" for g in retried.values()), retried
        assert any(g[0]["method"] == "POST" and g[0]["fault"] == "503" for g in retried.values()), retried
        # Across reruns: a step made failed again is resent under its old ID.
        patch = [st for st in by_seq.values() if st["method"] == "PATCH"][3]
        post = [st for st in by_seq.values() if st["method"] == "POST" and "invitations" in st["path"]][7]
        old_ids = {k: [rid for rid in groups if int(rid[-12:], 16) == k] for k in (patch["seq"], post["seq"])}
        assert edit(journal, "UPDATE steps SET state = 'failed' WHERE seq = ?", patch["seq"]) == 1
        assert edit(journal, "UPDATE steps SET state = 'sent', answer = NULL, record_id = NULL WHERE seq = ?",
                    post["seq"]) == 1
        mark = marker(s)
        r2 = run(s, cmd)
        assert r2.returncode == 0, r2.stderr
        sent = writes(log(s, mark))
        assert [(q["method"], q["request_id"]) for q in sent] == [("PATCH", old_ids[patch["seq"]][0])], sent
    finally:
        s.stop()


# --- 3. Ctrl-C ------------------------------------------------------------------

INTERRUPTED = r'''
local org = kc.organizations:create{ name = "Interrupted" }
local emails = {}
for i = 1, 200 do emails[i] = ("ctrlc%d@example.com"):format(i) end
io.stdout:write("started\n"); io.stdout:flush()
local r = kc.parallel(emails, function(email)
  return org.invitations:create{ email = email, role = "org_member" }
end, { concurrency = 16, progress = false })
assert(r.failed == 0, "failed: " .. r.failed)
print(org.id, r.ok)
'''


def test_ctrl_c_stops_the_run_and_a_rerun_finishes_without_duplicates(tmp_path):
    s = start("--faults", "latency=40ms")
    try:
        script = script_file(tmp_path, INTERRUPTED)
        journal = tmp_path / "ctrlc.journal"
        cmd = argv(script, journal)
        p = subprocess.Popen(cmd, env=s.env(), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        assert p.stdout.readline() == "started\n"
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 1, (p.returncode, out, err)
        assert "interrupted" in err
        done, _, failed, unc, resume = summary(err)
        assert resume == "resume" and 1 <= done < 201 and failed + unc <= 16, err
        s.faults("")
        r = run(s, cmd)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[0] == "started"
        org_id, ok = r.stdout.splitlines()[-1].split()
        assert ok == "200"
        d2, notes, f2, u2, _ = summary(r.stderr)
        assert (d2, f2, u2) == (201, 0, 0) and f"{done} answered from the journal" in notes, r.stderr
        orgs = [o for o in collect(s, "/organizations") if o["name"] == "Interrupted"]
        assert [o["id"] for o in orgs] == [org_id]
        emails = sorted(i["email"] for i in collect(s, f"/organizations/{org_id}/invitations"))
        assert emails == sorted(f"ctrlc{i}@example.com" for i in range(1, 201))
    finally:
        s.stop()


# --- 4. an error half way, fixed, rerun -------------------------------------------

HALFWAY = r'''
local org = kc.organizations:create{ name = "Half Way" }
print("org", org.id)
for i = 1, 5 do
  print("inv", org.invitations:create{ email = ("half%d@example.com"):format(i), role = "org_member" }.id)
end
local sa = org.service_accounts:create{ name = "half" }
local cred = sa.credentials:create{ name = "deploy" }
print("sa", sa.id, cred.id, cred.client_secret)
if os.getenv("HALF_BOOM") then error("boom") end
for i = 6, 8 do
  print("inv", org.invitations:create{ email = ("half%d@example.com"):format(i), role = "org_member" }.id)
end
'''


def test_an_error_half_way_then_a_fixed_rerun_answers_the_first_half_from_the_journal(tmp_path):
    s = start()
    try:
        script = script_file(tmp_path, HALFWAY)
        journal = tmp_path / "half.journal"
        cmd = argv(script, journal)
        first = run(s, cmd, env={"HALF_BOOM": "1"})
        assert first.returncode == 1
        assert "boom" in first.stderr
        assert summary(first.stderr) == (8, "", 0, 0, "")  # every step done: the script failed, not a write
        assert "finished" not in show(journal).splitlines()[0].replace("not finished", "")
        mark = marker(s)
        second = run(s, cmd)
        assert second.returncode == 0, second.stderr
        assert len(first.stdout.splitlines()) == 7
        assert second.stdout.splitlines()[:7] == first.stdout.splitlines()  # same ids, same secret
        assert len(second.stdout.splitlines()) == 10
        sent = writes(log(s, mark))
        assert [q["method"] for q in sent] == ["POST"] * 3, sent
        assert all(q["path"].endswith("/invitations") for q in sent)
        assert summary(second.stderr) == (11, "8 answered from the journal", 0, 0, "")
        org_id = first.stdout.split()[1]
        assert len(collect(s, f"/organizations/{org_id}/invitations")) == 8
        assert "finished " in show(journal).splitlines()[0]
    finally:
        s.stop()


# --- 5. refused journals, file mode ---------------------------------------------------

def test_refused_journals_send_nothing_and_new_ones_are_0600(tmp_path):
    s = start("--demo")
    try:
        script = script_file(tmp_path, 'local o = kc.org("acme")\n'
                                       'o.invitations:create{email = "refused@acme.com", role = "org_member"}\n'
                                       'print(io.popen("stat -c %a " .. os.getenv("J") .. "-wal 2>&1"):read("a"))\n')
        other = script_file(tmp_path, 'print("other")\n', "other.lua")
        good = tmp_path / "good.journal"
        old = os.umask(0)
        try:
            r = run(s, argv(script, good, "x"), env={"J": str(good)})
        finally:
            os.umask(old)
        assert r.returncode == 0, r.stderr
        assert stat.S_IMODE(good.stat().st_mode) == 0o600
        assert r.stdout.strip() == "600"  # its -wal, while it ran
        for wal in (tmp_path / "good.journal-wal", tmp_path / "good.journal-shm"):
            if wal.exists():
                assert stat.S_IMODE(wal.stat().st_mode) == 0o600

        corrupt = tmp_path / "corrupt.journal"
        corrupt.write_bytes(random.Random(3).randbytes(16384))
        truncated = tmp_path / "truncated.journal"
        data = good.read_bytes()
        assert len(data) >= 8192
        truncated.write_bytes(data[: len(data) // 2 + 100])
        empty = tmp_path / "empty.journal"
        empty.write_bytes(b"")
        stranger = tmp_path / "stranger.db"
        db = sqlite3.connect(str(stranger))
        db.execute("CREATE TABLE meta(key TEXT, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('format', 'something else')")
        db.commit()
        db.close()
        cases = [
            (corrupt, argv(script, corrupt, "x"), "damaged or not a kcsh journal ("),
            (truncated, argv(script, truncated, "x"), "damaged or not a kcsh journal ("),
            (empty, argv(script, empty, "x"), "not a kcsh journal"),
            (stranger, argv(script, stranger, "x"), "not a kcsh journal"),
            (good, argv(script, good, "y"), "belongs to another command"),
            (good, argv(other, good, "x"), "belongs to another command"),
            (good, argv(script, good), "belongs to another command"),
        ]
        for path, cmd, message in cases:
            before = path.read_bytes()
            mark = marker(s)
            r = run(s, cmd, env={"J": str(path)})
            assert r.returncode == 1, (path.name, r.returncode, r.stderr)
            assert message in r.stderr, (path.name, r.stderr)
            assert f"journal {path}" in r.stderr, r.stderr
            if "another command" not in message:
                assert r.stderr.rstrip().endswith("nothing was sent"), r.stderr
            assert r.stdout == "" and log(s, mark) == [], (path.name, log(s, mark))
            assert path.read_bytes() == before, f"{path.name} was changed"
        missing = tmp_path / "missing.journal"
        r = subprocess.run([str(KCSH), "--show-journal", str(missing)], capture_output=True, text=True, cwd=ROOT,
                           env=clean_env())
        assert r.returncode == 1 and "no such file" in r.stderr and not missing.exists()
        r = subprocess.run([str(KCSH), "--show-journal", str(corrupt)], capture_output=True, text=True, cwd=ROOT,
                           env=clean_env())
        assert r.returncode == 1 and "damaged or not a kcsh journal" in r.stderr
    finally:
        s.stop()


# --- 6. usage errors, KCSH_JOURNAL -----------------------------------------------------

def test_usage_errors_and_the_environment_variable(tmp_path, demo):
    script = script_file(tmp_path, 'print(kc.org("globex").invitations:create{'
                                   'email = "envjournal@globex.com", role = "org_member"}.id)\n')
    j = tmp_path / "u.journal"
    for cmd, env in [
        ([str(KCSH), "--journal", str(j), "--dry-run", str(script)], {}),
        ([str(KCSH), "--dry-run", str(script)], {"KCSH_JOURNAL": str(j)}),
        ([str(KCSH), "--journal", str(j)], {}),
        ([str(KCSH), "--journal", str(j), "-i"], {}),
        # The sandbox is new on every run: nothing to resume against (and
        # none is started).
        ([str(KCSH), "--journal", str(j), "--sandbox", str(script)], {}),
    ]:
        r = subprocess.run(cmd, env=demo.env(**env), cwd=ROOT, capture_output=True, text=True, timeout=30,
                           input="print('ran')")
        assert r.returncode == 2, (cmd, env, r.stderr)
        assert "'--journal' (or KCSH_JOURNAL)" in r.stderr and "ran" not in r.stdout, r.stderr
        assert not j.exists()
    # KCSH_JOURNAL journals scripts only: with none, kcsh runs as ever, journals nothing.
    r = subprocess.run([str(KCSH)], env=demo.env(KCSH_JOURNAL=str(j)), cwd=ROOT, capture_output=True, text=True,
                       timeout=30, input="print('ran')")
    assert (r.returncode, r.stdout, r.stderr) == (0, "ran\n", "") and not j.exists()
    first = run(demo, [str(KCSH), str(script)], env={"KCSH_JOURNAL": str(j)})
    assert first.returncode == 0, first.stderr
    assert summary(first.stderr) == (1, "", 0, 0, "")
    mark = marker(demo)
    again = run(demo, [str(KCSH), "--journal", str(j), str(script)])  # the same command, named the other way
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert summary(again.stderr) == (1, "1 answered from the journal", 0, 0, "")
    assert writes(log(demo, mark)) == []
    # -e is a script too.
    e = run(demo, [str(KCSH), "-e", "print(1)"], env={"KCSH_JOURNAL": str(tmp_path / "e.journal")})
    assert e.returncode == 0 and e.stdout == "1\n", e.stderr
    assert summary(e.stderr) == (0, "", 0, 0, "")


# --- 7. --show-journal ------------------------------------------------------------------

SHOWN = r'''
local org = kc.organizations:create{ name = "Shown" }
org.sso:enable{ identifier = "https://idp.shown.example", client_id = "kc", client_secret = "TOPSECRET-sso-1" }
org.invitations:create{ email = "dup@example.com", role = "org_member" }
local ok, e = pcall(org.invitations.create, org.invitations, { email = "dup@example.com", role = "org_member" })
assert(not ok and e.status == 409, tostring(e))
local ok2, e2 = pcall(kc.request, { method = "POST", path = "/organizations/" .. org.id .. "/invitations",
  body = { email = "not-an-email", role = "org_member" } })
assert(not ok2 and e2.status >= 400 and e2.status < 500, tostring(e2))
local sa = org.service_accounts:create{ name = "shown" }
local cred = sa.credentials:create{ name = "deploy" }
print(cred.client_secret)
'''


def test_show_journal_text_and_json_without_secrets(tmp_path, demo):
    script = script_file(tmp_path, SHOWN)
    journal = tmp_path / "show.journal"
    r = run(demo, argv(script, journal))
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    assert len(secret) >= 8
    assert summary(r.stderr) == (5, "", 2, 0, "retries")  # the script caught both failures
    text = show(journal)
    lines = text.splitlines()
    assert re.fullmatch(rf"journal {re.escape(str(journal))}: `kcsh {re.escape(str(script))}`, "
                        r"started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, not finished", lines[0]), lines[0]
    assert lines[-1] == "5 done, 2 failed, 0 uncertain"
    assert lines.index("done:") < lines.index("failed:") and "uncertain:" not in lines
    done = lines[lines.index("done:") + 1: lines.index("failed:") - 1]
    failed = lines[lines.index("failed:") + 1: -2]
    assert len(done) == 5 and all(re.match(r"  #\d+ POST /organizations", l) for l in done), done
    sso = [l for l in done if "/sso-connection" in l]
    assert len(sso) == 1 and '"client_secret":"(secret)"' in sso[0], done
    assert any(l.endswith('{"name":"Shown"}') for l in done)
    assert len(failed) == 4, failed
    assert failed[0].startswith("  #") and '{"email":"dup@example.com","role":"org_member"}' in failed[0]
    assert failed[1].startswith("      409"), failed
    assert '"not-an-email"' in failed[2] and re.match(r"      4\d\d ", failed[3]), failed
    data = json.loads(show(journal, "--json"))
    assert data["journal"] == str(journal) and data["command"] == f"kcsh {script}"
    assert data["finished_at"] is None and re.fullmatch(r"\d{4}-.*Z", data["created_at"])
    assert data["summary"] == {"done": 5, "failed": 2, "uncertain": 0, "skipped": 0}
    assert [st["seq"] for st in data["steps"]] == list(range(1, 8))
    keys = {"seq", "occurrence", "method", "path", "body", "state", "how", "status", "error", "started_at", "ended_at"}
    for st in data["steps"]:
        assert keys >= set(st) >= {"seq", "occurrence", "method", "path", "state", "started_at"}, st
    states = [st["state"] for st in data["steps"]]
    assert sorted(states) == ["done"] * 5 + ["failed"] * 2
    dup = [st for st in data["steps"] if st["body"] == {"email": "dup@example.com", "role": "org_member"}]
    assert [(d["occurrence"], d["state"]) for d in dup] == [(1, "done"), (2, "failed")]
    assert dup[1]["status"] == 409 and dup[1]["error"]["status"] == 409
    assert dup[1]["error"]["code"] == "invitation_pending"
    sso_step = [st for st in data["steps"] if st["path"].endswith("/sso-connection")][0]
    assert sso_step["body"]["client_secret"] == "(secret)" and sso_step["body"]["client_id"] == "kc"
    both = text + json.dumps(data)
    assert "TOPSECRET" not in both and secret not in both
    # The secret the script sent is nowhere in the file (its answer, the
    # credential's secret, is: a rerun hands it back).
    assert b"TOPSECRET" not in journal.read_bytes()


# --- 8. updates and deletes ----------------------------------------------------------------

CHANGES = r'''
local org = kc.organizations:create{ name = "Changes" }
local keep = org.service_accounts:create{ name = "keep" }
keep:update{ description = "kept" }
local gone = org.service_accounts:create{ name = "gone" }
gone:delete()
print(org.id, keep.id, gone.id)
'''


def test_updates_and_deletes_once_and_an_uncertain_delete_that_answers_404_is_done(tmp_path, demo):
    script = script_file(tmp_path, CHANGES)
    journal = tmp_path / "changes.journal"
    cmd = argv(script, journal)
    r = run(demo, cmd)
    assert r.returncode == 0, r.stderr
    org_id, keep_id, gone_id = r.stdout.split()
    mark = marker(demo)
    again = run(demo, cmd)
    assert again.returncode == 0 and again.stdout == r.stdout, again.stderr
    assert summary(again.stderr) == (5, "5 answered from the journal", 0, 0, "")
    assert writes(log(demo, mark)) == []
    st = {s_["method"]: s_ for s_ in steps(journal) if s_["method"] in ("PATCH", "DELETE")}
    assert st["DELETE"]["path"].endswith(f"/service-accounts/{gone_id}")
    # Both in flight at a crash: the update is sent again, the delete answers 404 and is done.
    assert edit(journal, "UPDATE steps SET state = 'sent', how = NULL, answer = NULL, status = NULL "
                         "WHERE seq IN (?, ?)",
                st["PATCH"]["seq"], st["DELETE"]["seq"]) == 2
    edit(journal, "DELETE FROM meta WHERE key = 'finished_at'")
    mark = marker(demo)
    third = run(demo, cmd)
    assert third.returncode == 0 and third.stdout == r.stdout, third.stderr
    sent = writes(log(demo, mark))
    assert sorted((q["method"], q["status"]) for q in sent) == [("DELETE", 404), ("PATCH", 200)], sent
    patch = [q for q in sent if q["method"] == "PATCH"][0]
    assert int(REQUEST_ID.fullmatch(patch["request_id"]).group(1), 16) == st["PATCH"]["seq"]
    d, notes, f, u, resume = summary(third.stderr)
    assert (d, f, u, resume) == (5, 0, 0, "") and "3 answered from the journal" in notes \
        and "1 reconciled" in notes, third.stderr
    text = show(journal)
    assert re.search(rf"  #{st['DELETE']['seq']} DELETE \S+/service-accounts/{gone_id} \(reconciled\)", text), text
    assert "finished " in text.splitlines()[0]
    kept = demo.get(f"/organizations/{org_id}/service-accounts/{keep_id}").json()
    assert kept["description"] == "kept"
    assert demo.get(f"/organizations/{org_id}/service-accounts/{gone_id}").status_code == 404


# --- 9. uncertain creates reconciled by natural key ------------------------------------------

RECONCILE = r'''
local org = kc.organizations:create{ name = "Reconcile" }
local ids = { org.id }
for i = 1, 3 do
  ids[#ids + 1] = org.invitations:create{ email = ("rec%d@example.com"):format(i), role = "org_member" }.id
end
local sa = org.service_accounts:create{ name = "rec" }
ids[#ids + 1] = sa.id
local cred = sa.credentials:create{ name = "deploy" }
assert(type(cred.client_secret) == "string" and #cred.client_secret > 0)
print(table.concat(ids, " "))
print(cred.id, cred.client_secret)
'''


def test_uncertain_creates_are_found_by_natural_key_and_a_credential_is_made_again(tmp_path, demo):
    script = script_file(tmp_path, RECONCILE)
    journal = tmp_path / "reconcile.journal"
    cmd = argv(script, journal)
    r = run(demo, cmd)
    assert r.returncode == 0, r.stderr
    ids_line, cred_line = r.stdout.splitlines()
    org_id = ids_line.split()[0]
    sa_id = ids_line.split()[-1]
    cred_id, secret = cred_line.split()
    all_steps = steps(journal)
    inv = [s_ for s_ in all_steps if s_["path"].endswith("/invitations")][1]
    sa = [s_ for s_ in all_steps if s_["path"].endswith("/service-accounts")][0]
    cred = [s_ for s_ in all_steps if s_["path"].endswith("/credentials")][0]
    for st in (inv, sa, cred):
        assert edit(journal, "UPDATE steps SET state = 'sent', how = NULL, status = NULL, answer = NULL, "
                             "record_id = NULL, ended_at = NULL WHERE seq = ?", st["seq"]) == 1
    edit(journal, "DELETE FROM meta WHERE key = 'finished_at'")
    # As a kill would leave them: uncertain, in the view too.
    text = show(journal)
    assert text.splitlines()[-1] == "3 done, 0 failed, 3 uncertain", text
    shown = text.split("\nuncertain:\n")[1].split("\n\n")[0].splitlines()
    assert [int(l.split()[0][1:]) for l in shown] == sorted(st["seq"] for st in (inv, sa, cred)), text
    data = json.loads(show(journal, "--json"))
    assert data["summary"] == {"done": 3, "failed": 0, "uncertain": 3, "skipped": 0}
    assert {st["seq"] for st in data["steps"] if st["state"] == "uncertain"} == {inv["seq"], sa["seq"], cred["seq"]}
    mark = marker(demo)
    again = run(demo, cmd)
    assert again.returncode == 0, again.stderr
    ids2, cred2 = again.stdout.splitlines()
    assert ids2 == ids_line  # the same invitation and service account, found
    new_cred_id, new_secret = cred2.split()
    assert new_cred_id != cred_id and new_secret and new_secret != secret
    sent = log(demo, mark)
    w = writes(sent)
    # No second invitation or service account; the orphan credential deleted, made again.
    assert sorted((q["method"], q["path"]) for q in w) == sorted([
        ("DELETE", f"/organizations/{org_id}/service-accounts/{sa_id}/credentials/{cred_id}"),
        ("POST", f"/organizations/{org_id}/service-accounts/{sa_id}/credentials"),
    ]), w
    gets = {q["path"] for q in sent if q["method"] == "GET"}
    assert f"/organizations/{org_id}/invitations" in gets and f"/organizations/{org_id}/service-accounts" in gets
    d, notes, f, u, resume = summary(again.stderr)
    assert (d, f, u, resume) == (6, 0, 0, "") and "3 answered from the journal" in notes \
        and "3 reconciled" in notes, again.stderr
    text = show(journal)
    assert re.search(rf"  #{inv['seq']} POST \S+/invitations \S+ \(reconciled\)", text), text
    assert re.search(rf"  #{sa['seq']} POST \S+/service-accounts \S+ \(reconciled\)", text), text
    assert re.search(rf"  #{cred['seq']} POST \S+/credentials \S+ \((replaced|reconciled)\)", text), text
    creds = collect(demo, f"/organizations/{org_id}/service-accounts/{sa_id}/credentials")
    assert [(c["id"], c["name"]) for c in creds] == [(new_cred_id, "deploy")]
    invs = collect(demo, f"/organizations/{org_id}/invitations")
    assert sorted(i["email"] for i in invs) == ["rec1@example.com", "rec2@example.com", "rec3@example.com"]
    assert len(collect(demo, f"/organizations/{org_id}/service-accounts")) == 1
    # And the rerun after that sends nothing, handing back the new secret.
    mark = marker(demo)
    third = run(demo, cmd)
    assert third.returncode == 0 and third.stdout == again.stdout, third.stderr
    assert writes(log(demo, mark)) == []


# --- one run at a time; os.exit ---------------------------------------------------------------

ASYNC = r'''
local org = kc.organizations:create{ name = "Async" }  -- its own: the demo sandbox is shared
local h = kc.request_async{ method = "POST", path = "/organizations/" .. org.id .. "/invitations",
  body = '{"role": "org_member", "email": "async@example.com"}' }
local a = h:wait()
-- the same body as a table, keys in another order: the same request, a second occurrence
local ok, e = pcall(kc.request, { method = "POST", path = "/organizations/" .. org.id .. "/invitations",
  body = { email = "async@example.com", role = "org_member" } })
print(a.id, ok or e.status)
'''


def test_async_writes_and_text_bodies_are_steps_like_any_other(tmp_path, demo):
    script = script_file(tmp_path, ASYNC)
    journal = tmp_path / "async.journal"
    first = run(demo, argv(script, journal))
    assert first.returncode == 0, first.stderr
    assert first.stdout.split()[1] == "409"  # a pending invitation for it exists
    rows = steps(journal)
    invites = rows[1:]
    assert [(r["occurrence"], r["state"]) for r in invites] == [(1, "done"), (2, "failed")]
    assert invites[0]["body"] == invites[1]["body"] == '{"email":"async@example.com","role":"org_member"}'
    mark = marker(demo)
    again = run(demo, argv(script, journal))
    assert again.stdout == first.stdout, again.stderr
    assert summary(again.stderr)[:3] == (2, "2 answered from the journal", 1)
    assert [q["method"] for q in writes(log(demo, mark))] == ["POST"]  # only the failed one, again


def test_a_journal_in_use_is_refused_and_still_shown(tmp_path, demo):
    script = script_file(tmp_path, 'local o = kc.org("initech")\n'
                                   'o.invitations:create{email = "inuse@initech.com", role = "org_member"}\n'
                                   'io.stdout:write("wrote\\n"); io.stdout:flush()\n'
                                   'io.read("l")\n')
    journal = tmp_path / "inuse.journal"
    cmd = argv(script, journal)
    p = subprocess.Popen(cmd, env=demo.env(), cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "wrote\n"
        mark = marker(demo)
        r = run(demo, cmd)
        assert r.returncode == 1 and "in use by another kcsh run" in r.stderr, r.stderr
        assert log(demo, mark) == []
        assert "  #1 POST " in show(journal)
    finally:
        out, err = p.communicate("\n", timeout=30)
    assert p.returncode == 0, err
    assert summary(err) == (1, "", 0, 0, "")


def test_os_exit_after_every_step_is_done_commits_and_finishes_the_journal(tmp_path, demo):
    script = script_file(tmp_path, 'local o = kc.org("initech")\n'
                                   'print(o.invitations:create{email = "exit@initech.com", role = "org_member"}.id)\n'
                                   'os.exit(0)\n')
    journal = tmp_path / "exit.journal"
    cmd = argv(script, journal)
    r = run(demo, cmd)
    assert r.returncode == 0, r.stderr
    assert summary(r.stderr) == (1, "", 0, 0, "")
    mark = marker(demo)
    again = run(demo, cmd)
    assert again.returncode == 0 and again.stdout == r.stdout, again.stderr
    assert writes(log(demo, mark)) == []
    # It ran to its end (os.exit(0)) with every step done: finished, as
    # when the script returns.
    assert "finished " in show(journal).splitlines()[0], show(journal)


# --- 12. no server at all: the SQLite bridge under AddressSanitizer ------------

@pytest.mark.asan
def test_a_write_that_never_reached_a_server_stays_uncertain(tmp_path):
    # A refused connection (no sandbox: this runs in the ASan pass too). The
    # create cannot be looked up either, so it stays uncertain, with its error,
    # run after run; the journal's open, rows, writes and close all run.
    script = script_file(tmp_path, 'local ok, e = pcall(kc.request, {method = "POST", path = "/organizations",'
                         ' body = {name = "Nowhere", client_secret = "S3CR3T-x"}})\nprint(ok, e.kind)\n')
    journal = tmp_path / "j.db"
    env = clean_env(KEYCARD_API_BASE_URL="http://127.0.0.1:1", KEYCARD_API_API_KEY="k-none-0000",
                    XDG_CONFIG_HOME="/nonexistent", KCSH_MAX_RETRIES="0")
    for attempt in range(2):
        r = subprocess.run(argv(script, journal), env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["false", "transport"]
        assert summary(r.stderr) == (0, "", 0, 1, "resume")
    r = subprocess.run([str(KCSH), "--show-journal", str(journal), "--json"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    view = json.loads(r.stdout)
    assert view["summary"] == {"done": 0, "failed": 0, "uncertain": 1, "skipped": 0}
    (step,) = view["steps"]
    assert step["state"] == "uncertain" and step["error"]["kind"] == "transport"
    assert step["body"] == {"client_secret": "(secret)", "name": "Nowhere"}
    assert "S3CR3T" not in r.stdout and b"S3CR3T" not in journal.read_bytes()
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
