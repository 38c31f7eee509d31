"""Tab completion in the REPL (through a pseudo-terminal): the lazy `kc`, the
completion data of the resource tree (`__complete`, `__params`, `_params`), and
records of a real sandbox, with no request sent by completing."""
import re
import time

import pytest

from test_repl_terminal import ANSI, PROMPT, ask, spawn  # noqa: F401 (spawn: a fixture)

# Nothing listens here: whatever completion did, it could reach no server.
NOWHERE = {"KEYCARD_API_BASE_URL": "http://127.0.0.1:9", "KEYCARD_API_API_KEY": "k"}


def listed(child, text, last):
    """Types `text` and Tab; returns the candidates libedit lists below the
    line (`last` is the last of them), then clears the line."""
    child.send(text + "\t")
    child.expect(r"\b" + re.escape(last) + r"\r\n")
    shown = ANSI.sub("", child.before + last)
    words = shown.split("\r\n", 1)[1].split()
    clear(child)
    return words


def inserts(child, text, rest):
    """Types `text` and Tab, expects `rest` to be inserted, clears the line."""
    child.send(text + "\t")
    child.expect_exact(rest)
    clear(child)


def clear(child):
    child.sendintr()
    child.expect(PROMPT)


@pytest.mark.asan
def test_kc_shows_its_names(spawn):
    child = spawn(**NOWHERE)
    out = ask(child, "kc")
    assert out.startswith("kc: ") and out.endswith(" (help(kc) for more)"), out
    names = out[4:].split(" (")[0].split(", ")
    assert {"organizations", "org", "request", "json", "null", "trace", "help"} <= set(names)
    assert ask(child, "kc.null == kc.json.null, rawget(kc, 'org') ~= nil") == "true\ttrue"


@pytest.mark.asan
def test_tab_under_kc_fills_the_lazy_table(spawn):
    child = spawn(**NOWHERE)
    words = listed(child, "kc.", "trace")
    assert {"organizations", "org", "request", "json", "null", "trace", "help", "iter"} <= set(words)
    assert not [w for w in words if w.startswith("_")]
    inserts(child, "kc.organiz", "ations")
    words = listed(child, "kc.organizations:", "update")
    assert {"list", "each", "get", "create", "update"} <= set(words)
    assert not [w for w in words if w.startswith("_")]  # _params, __tostring...
    inserts(child, "kc.organizations:list{li", "mit")


@pytest.mark.asan
def test_tab_reads_complete_and_params(spawn):
    child = spawn(**NOWHERE)
    ask(child, "t = setmetatable({x = 1, _hidden = 2}, {"
        " __complete = {'go', 'kids'}, __params = {go = {'alpha', 'beta', 'gamma'}},"
        " __index = function(_, k)"
        "   if k == 'go' then return print elseif k == 'kids' then return {list = print} end"
        " end})")
    assert listed(child, "t.", "x") == ["go", "kids", "x"]
    inserts(child, "t:", "go")  # only the functions after a colon
    inserts(child, "t.kids:", "list")  # a listed name is read through __index
    inserts(child, "t._", "hidden")  # _names when asked for
    inserts(child, "t:go{al", "pha")
    inserts(child, "t:go({be", "ta")
    inserts(child, "t:go(1, {alpha = {1, 2}, ga", "mma")
    # fields already given are not offered again (`==` gives none)
    inserts(child, "t:go{alpha = 1, beta = {gamma = 2}, ", "gamma")
    assert listed(child, "t:go{alpha = x == 1, ", "gamma") == ["beta", "gamma"]
    assert listed(child, "t:go{", "gamma") == ["alpha", "beta", "gamma"]
    # a value, not a field name: the ordinary completion of globals
    inserts(child, "t:go{alpha = stri", "ng")
    assert ask(child, "1") == "1"


def requests_seen(sandbox):
    body = sandbox.get("/_sandbox/requests").json()
    items = body["items"] if isinstance(body, dict) else body
    return [(r["method"], r["path"]) for r in items]


def test_tab_completes_records_collections_and_parameters(spawn, demo):
    assert demo.delete("/_sandbox/requests").status_code == 204
    child = spawn(KEYCARD_API_BASE_URL=demo.base, KEYCARD_API_API_KEY=demo.key)
    assert ask(child, "org = kc.org('acme')") == ""
    assert requests_seen(demo) == [("GET", "/organizations/acme")]

    words = listed(child, "org.", "zone_id")
    assert {"id", "label", "name"} <= set(words)  # fields
    assert {"users", "invitations", "service_accounts", "sso"} <= set(words)  # children
    assert {"update", "reload", "token", "roles", "identities"} <= set(words)  # methods
    words = listed(child, "org:", "update")
    assert {"update", "reload", "token"} <= set(words) and "users" not in words
    words = listed(child, "org.users:", "update")
    assert {"list", "each", "get", "update", "delete"} <= set(words)
    inserts(child, "org.invitations:cr", "eate")
    assert listed(child, "org.users:update{", "status") == ["role", "status"]
    inserts(child, "org.users:update(id, {ro", "le")
    inserts(child, "org.invitations:create{em", "ail")
    inserts(child, "org.invitations:create{email = 'x@acme.com', ", "role")
    inserts(child, "org:update{na", "me")
    assert ask(child, "1") == "1"
    assert requests_seen(demo) == [("GET", "/organizations/acme")]


def test_ctrl_c_cancels_a_slow_request_and_the_next_one_goes_through(spawn, demo):
    # kc.request runs its transfer on the REPL's own thread: Ctrl-C must still
    # reach it at once, and leave the client usable.
    child = spawn(KEYCARD_API_BASE_URL=demo.base, KEYCARD_API_API_KEY=demo.key)
    assert demo.delete("/_sandbox/requests").status_code == 204
    # 5 s: an uncancelled request would take twice the bound below (room for
    # a loaded machine), and the sandbox (and this test) do not wait long.
    assert demo.http.put(demo.url("/_sandbox/faults"), json={"spec": "latency=5s", "seed": 1}).status_code == 200
    try:
        child.sendline("kc.request{path = '/organizations/acme'}")
        time.sleep(0.5)
        sent = time.monotonic()
        child.sendintr()
        child.expect_exact("interrupted")
        child.expect(PROMPT)
        assert time.monotonic() - sent < 2.0
    finally:
        demo.http.put(demo.url("/_sandbox/faults"), json={"spec": "", "seed": 1})
        # The sandbox records the cancelled request once its 5 s are up; the
        # demo sandbox is shared, so wait for that rather than let it land in
        # a later test's request log.
        deadline = time.monotonic() + 10
        while not requests_seen(demo) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert ask(child, "kc.request{path = '/organizations/acme'}.label") == "acme"
