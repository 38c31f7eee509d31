"""Completion that knows the account (issue 13, point 2), through a
pseudo-terminal: live labels and IDs fetched on a Tab within a time limit,
enum values, and names after a call from the description's return types."""
import time

import pytest

from test_repl_completion import clear, inserts, listed, requests_seen
from test_repl_terminal import PROMPT, ask, spawn  # noqa: F401 (spawn: a fixture)


def on(spawn, sb):
    return spawn(KEYCARD_API_BASE_URL=sb.base, KEYCARD_API_API_KEY=sb.key)


@pytest.fixture
def own_sandbox():
    from sandboxproc import start
    s = start("--demo")
    yield s
    s.stop()


def test_organization_labels_and_user_ids(spawn, own_sandbox):
    sb = own_sandbox
    child = on(spawn, sb)
    assert sb.delete("/_sandbox/requests").status_code == 204
    assert ask(child, "1") == "1"
    assert requests_seen(sb) == []  # nothing fetched without a Tab
    words = listed(child, 'kc.org("', "Initech")  # labels, each with its name
    assert {"acme", "globex", "initech"} <= set(words)
    inserts(child, 'kc.org("gl', "obex")
    assert ask(child, 'org = kc.org("acme")') == ""
    users = {u["id"]: u.get("email") for u in sb.get("/organizations/acme/users?limit=100").json()["items"]}
    child.send('org.users:get("\t')
    some = sorted(users)[-1]
    child.expect_exact(some)
    child.expect_exact(users[some])  # the email beside the ID
    clear(child)
    seen = len(requests_seen(sb))
    # cached for the session: the second Tab sends nothing
    child.send('org.users:get("\t')
    child.expect_exact(users[some])
    clear(child)
    assert len(requests_seen(sb)) == seen
    # a write to the collection drops the cache
    assert ask(child, "org.invitations:create{email = 'tab@acme.test', role = 'org_member'}.email") == "tab@acme.test"
    child.send('org.invitations:delete("\t')
    child.expect_exact("tab@acme.test")
    clear(child)
    assert ask(child, "1") == "1"


def test_enum_values(spawn, own_sandbox):
    child = on(spawn, own_sandbox)
    inserts(child, 'kc.org("acme").users:update("x", {role = "', "org_")
    assert listed(child, 'u:update{role = "org_', "org_viewer") == [
        "org_admin", "org_member", "org_viewer"]
    inserts(child, "t = {status = 'disa", "bled")
    inserts(child, 'x = {scope = "zo', "ne")
    assert ask(child, "1") == "1"


def test_names_after_a_call_without_calling(spawn, own_sandbox):
    sb = own_sandbox
    child = on(spawn, sb)
    assert ask(child, 'org = kc.org("acme")') == ""
    assert sb.delete("/_sandbox/requests").status_code == 204
    words = listed(child, 'kc.org("acme"):', "update")
    assert {"update", "token", "roles", "identities", "reload"} <= set(words) and "users" not in words
    words = listed(child, "org.users:get(id).", "updated_at")
    assert {"email", "role", "status", "update", "delete"} <= set(words)
    inserts(child, 'kc.org("acme").us', "ers")
    inserts(child, 'kc.org("acme"):token().acc', "ess_token")
    assert ask(child, "1") == "1"
    assert requests_seen(sb) == []  # the calls were never made


def test_a_slow_sandbox_does_not_hold_the_prompt(spawn, own_sandbox):
    sb = own_sandbox
    child = on(spawn, sb)
    assert ask(child, 'org = kc.org("acme")') == ""
    assert sb.delete("/_sandbox/requests").status_code == 204
    sb.faults("latency=2s")
    try:
        sent = time.monotonic()
        child.send('org.users:get("\t')
        # The Tab asks for the users, gives up after ~300 ms (the bell: no
        # candidates) and leaves the line to edit; 1 s leaves room for a
        # loaded machine, the sandbox takes 2 s.
        child.expect_exact("\a")
        assert time.monotonic() - sent < 1.0
        child.send("x")
        child.expect_exact("x")
        child.sendintr()
        child.expect(PROMPT)
    finally:
        sb.faults("")
    assert ask(child, "1") == "1"
    # The request was made (and is logged once its 2 s are up).
    deadline = time.monotonic() + 10
    while not requests_seen(sb) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [m for m, path in requests_seen(sb) if path.endswith("/users")] == ["GET"]
