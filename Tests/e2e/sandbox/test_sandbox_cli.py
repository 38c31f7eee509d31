"""How kcsh-sandbox starts and stops: the two-line contract, options, signals."""
import signal
import subprocess
import time
from datetime import datetime

import requests
from openapi_spec_validator import validate

from e2epaths import SANDBOX_BIN
from sandboxlib import assert_error


def test_startup_lines_and_api_key(start_sandbox):
    s = start_sandbox("--api-key", "fixed-key-123")
    assert s.lines == [f"KEYCARD_API_BASE_URL=http://127.0.0.1:{s.port}", "KEYCARD_API_API_KEY=fixed-key-123"]
    assert s.get("/organizations").status_code == 200
    # the default key is random, and differs between runs
    a = start_sandbox()
    b = start_sandbox()
    assert a.key != b.key and len(a.key) >= 32 and a.port != b.port


def test_fixed_port(start_sandbox):
    probe = start_sandbox()
    port = probe.port
    probe.stop()
    s = start_sandbox("--port", str(port))
    assert s.port == port


def test_openapi_without_credentials(sandbox):
    r = requests.get(sandbox.url("/openapi.json"))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"].startswith("3.") and "/organizations/{organization_id}/users" in doc["paths"]
    validate(doc)


def test_help_tells_the_truth():
    out = subprocess.run([str(SANDBOX_BIN), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    for opt in ("--port", "--api-key", "--db", "--demo", "--scale", "--faults", "--seed", "--exit-with-stdin", "--token-ttl",
                "--invitation-ttl", "--rate-limit", "admin@sandbox.keycard.local"):
        assert opt in out.stdout
    bad = subprocess.run([str(SANDBOX_BIN), "--bogus"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--bogus" in bad.stderr and bad.stdout == ""
    for args, word in [(["--faults", "429=7"], "429"), (["--rate-limit", "0"], "--rate-limit"), (["--rate-limit", "fast"], "fast"),
                       (["--invitation-ttl", "0"], "--invitation-ttl")]:
        bad = subprocess.run([str(SANDBOX_BIN), *args], capture_output=True, text=True, timeout=30)
        assert bad.returncode == 2 and word in bad.stderr, (args, bad.stderr)


def test_sigterm_and_sigint_stop_cleanly(start_sandbox):
    for sig in (signal.SIGTERM, signal.SIGINT):
        s = start_sandbox()
        assert s.stop(sig) == 0


def test_exit_with_stdin(start_sandbox):
    s = start_sandbox("--exit-with-stdin")
    s.proc.stdin.close()
    assert s.proc.wait(10) == 0
    # stdin at end of file from the start: it still starts, says so, and stops cleanly
    out = subprocess.run([str(SANDBOX_BIN), "--exit-with-stdin"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("KEYCARD_API_BASE_URL=") and len(out.stdout.splitlines()) == 2
    # without the flag, closing stdin changes nothing
    t = start_sandbox()
    t.proc.stdin.close()
    time.sleep(0.5)
    assert t.proc.poll() is None and t.get("/organizations").status_code == 200


def test_scale(start_sandbox):
    s = start_sandbox("--scale", "20000")
    r = s.get("/organizations/scale/identities", params={"expand": "total_count", "limit": 1})
    assert r.json()["pagination"]["total_count"] == 20000
    page = s.get("/organizations/scale/users", params={"limit": 1000}).json()
    assert len(page["items"]) == 1000 and page["page_info"]["has_next_page"]


def test_demo_data(sandbox):
    labels = {o["label"] for o in sandbox.get("/organizations", params={"limit": 1000}).json()["items"]}
    assert {"acme", "globex", "initech"} <= labels
    assert sandbox.get("/organizations/acme/users").json()["items"]
    assert sandbox.get("/organizations/acme/invitations").json()["items"]
    sas = sandbox.get("/organizations/acme/service-accounts").json()["items"]
    assert sas and sandbox.get(f"/organizations/acme/service-accounts/{sas[0]['id']}/credentials").json()["items"]
    assert sandbox.get("/organizations/acme/sso-connection").status_code == 200


def test_invitation_ttl(start_sandbox):
    s = start_sandbox("--invitation-ttl", "60", "--demo")
    org = s.post("/organizations", json={"name": "TTL"}).json()
    inv = s.post(f"/organizations/{org['id']}/invitations", json={"email": "t@example.com", "role": "org_member"}).json()
    created = datetime.fromisoformat(inv["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(inv["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - created).total_seconds() - 60) < 1
    # the demo's invitations too
    demo = s.get("/organizations/acme/invitations").json()["items"][0]
    created = datetime.fromisoformat(demo["created_at"].replace("Z", "+00:00"))
    assert abs((datetime.fromisoformat(demo["expires_at"].replace("Z", "+00:00")) - created).total_seconds() - 60) < 1


def test_demo_invitations_are_made_by_the_first_admin(sandbox):
    first = sandbox.get("/organizations/acme/users", params={"limit": 1}).json()["items"][0]
    assert first["role"] == "org_admin"
    invs = sandbox.get("/organizations/acme/invitations").json()["items"]
    assert invs and {i["created_by"] for i in invs} == {first["id"]}
