"""kc.request against a real sandbox: decoding, errors as values, retries."""
import json
import threading
import time
from email.utils import formatdate
from http.server import ThreadingHTTPServer

import pytest

from clientlib import JSONHandler, kcsh, clean_env


def run(sandbox, code, *args, **env):
    r = kcsh(*args, "-e", code, env=sandbox.env(**env))
    return r


def test_request_decodes_and_reports(sandbox):
    r = run(sandbox, """
        local page, meta = kc.request{path = "/organizations", query = {limit = 2}}
        assert(#page.items == 2 and page.page_info.has_next_page == true)
        assert(math.type(meta.status) == "integer" and meta.status == 200 and meta.attempts == 1)
        assert(#meta.request_id == 36)
        local org = kc.request{path = "/organizations/acme"}
        print(org.label, kc.json.encode(kc.json.decode(kc.json.encode(page.items))):sub(1, 1))
        -- a body from a table, and the answer to it
        local made = kc.request{method = "POST", path = "/organizations", body = {name = "Made By Lua"}}
        print(made.name, #made.id)
        local upd = kc.request{method = "PATCH", path = "/organizations/" .. made.id, body = {name = "Renamed"}}
        print(upd.name)
        -- repeated query parameters
        local users = kc.request{path = "/organizations/acme/users", query = {limit = 1, expand = {"permissions"}}}
        print(type(users.items[1].permissions))
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["acme\t[", "Made By Lua\t26", "Renamed", "table"]


def test_api_error_is_a_structured_value(sandbox):
    r = run(sandbox, """
        local ok, e = pcall(kc.request, {path = "/organizations/no-such-org"})
        assert(not ok)
        print(e.kind, e.status, e.code, e.method, e.path, e.attempts, #e.request_id, type(e.message))
        print(tostring(e))
        -- uncaught: kcsh reports it on one line (its __tostring) and exits 1
        kc.request{method = "POST", path = "/organizations", body = {name = 5}}
    """)
    assert r.returncode == 1
    out = r.stdout.splitlines()
    assert out[0] == "api\t404\tnot_found\tGET\t/organizations/no-such-org\t1\t36\tstring"
    assert out[1].startswith("404 not_found: ") and "(GET /organizations/no-such-org, request " in out[1]
    assert out[1].endswith(", 1 attempt)")
    assert "400" in r.stderr or "422" in r.stderr, r.stderr
    assert "POST /organizations" in r.stderr


def test_transport_error_kind(sandbox):
    r = kcsh("-e", """
        local ok, e = pcall(kc.request, {path = "/organizations", retries = 1})
        print(e.kind, e.status, e.attempts, e.message:match("^connect:") ~= nil)
    """, env=clean_env(KEYCARD_API_BASE_URL="http://127.0.0.1:1", KEYCARD_API_API_KEY="k-refused-1234",
                       XDG_CONFIG_HOME="/nonexistent"))
    assert r.stdout.strip() == "transport\tnil\t2\ttrue", r.stderr
    assert "k-refused-1234" not in r.stdout + r.stderr


def test_argument_errors(sandbox):
    r = run(sandbox, """
        for _, t in ipairs{{path = "/x", methd = "GET"}, {path = "nope"}, {path = "/x", retries = -1},
                           {path = "/x", body = {1, x = 2}}, {path = "/x", body = {v = 0/0}}} do
          local ok, e = pcall(kc.request, t)
          print(e)
        end
        print(pcall(kc.request, "x"))
    """)
    lines = r.stdout.splitlines()
    assert "unknown field 'methd' (did you mean 'method'?)" in lines[0]
    assert "'path' must be a string starting with '/'" in lines[1]
    assert "'retries' must be a non-negative integer" in lines[2]
    assert "both array items and named fields" in lines[3]
    assert "NaN" in lines[4]
    assert "bad argument #1 to 'request' (table expected, got string)" in lines[5]


@pytest.mark.parametrize("code", [429, 503, 500, 408, 409])
def test_retried_statuses_keep_one_request_id(start_sandbox, code):
    sb = start_sandbox()
    sb.faults(f"{code}=1")
    sb.clear_requests()
    r = run(sb, """
        local ok, e = pcall(kc.request, {path = "/organizations", retries = 1})
        print(e.status, e.attempts, e.request_id)
    """)
    status, attempts, rid = r.stdout.split()
    assert (int(status), int(attempts)) == (code, 2), r.stderr
    log = sb.requests()
    assert [e["status"] for e in log] == [code, code]
    assert {e["request_id"] for e in log} == {rid}


def test_default_and_global_retries(start_sandbox):
    sb = start_sandbox()
    sb.faults("503=1")
    code = "local ok, e = pcall(kc.request, {path = '/organizations'}); print(e.attempts)"
    start = time.monotonic()
    assert run(sb, code).stdout.strip() == "3"  # 2 retries by default
    assert time.monotonic() - start >= 2.0      # Retry-After: 1, twice
    assert run(sb, code, KCSH_MAX_RETRIES="0").stdout.strip() == "1"
    assert run(sb, "local ok, e = pcall(kc.request, {path = '/organizations', retries = 0}); print(e.attempts)").stdout.strip() == "1"


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_no_retry_after_other_4xx(start_sandbox, code):
    sb = start_sandbox()
    sb.faults(f"{code}=1")
    sb.clear_requests()
    r = run(sb, "local ok, e = pcall(kc.request, {path = '/organizations', retries = 5}); print(e.status, e.attempts)")
    assert r.stdout.split() == [str(code), "1"]
    assert len(sb.requests()) == 1


def test_faults_mix_is_absorbed(start_sandbox):
    # retry-after=10ms: the 429s and 503s need not each cost the default 1 s
    # (honouring Retry-After is tested on its own below).
    sb = start_sandbox("--demo", "--faults", "429=0.1,503=0.1,reset=0.1,latency=5ms,retry-after=10ms",
                       "--seed", "42")
    r = run(sb, """
        local n, attempts = 0, 0
        for i = 1, 40 do
          local page, meta = kc.request{path = "/organizations", query = {limit = 1}, retries = 6}
          n = n + #page.items
          attempts = attempts + meta.attempts
        end
        print(n, attempts > 40)
    """, KCSH_TIMEOUT_MS="10000")
    assert r.stdout.split() == ["40", "true"], r.stderr


class Scripted(JSONHandler):
    """Answers from a list of (status, headers); records arrival times."""
    script = []
    seen = []
    headers = []

    def do_GET(self):
        Scripted.seen.append((time.monotonic(), self.headers.get("X-Client-Request-ID"),
                              self.headers.get("User-Agent")))
        Scripted.headers.append(dict(self.headers))
        status, headers = Scripted.script.pop(0) if Scripted.script else (200, {})
        headers = dict(headers)
        body = b'{"ok":true}' if status == 200 else b'{"message":"scripted","code":"scripted","status":%d}' % status
        body = headers.pop("body", body)
        self.send_json(status, body, headers)


@pytest.fixture
def scripted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    Scripted.seen = []
    yield server
    server.shutdown()
    server.server_close()


def scripted_run(server, script, code="local r, m = kc.request{path = '/x'}; print(m.attempts)", retries=None):
    Scripted.script = list(script)
    Scripted.seen = []
    Scripted.headers = []
    env = clean_env(KEYCARD_API_BASE_URL=f"http://127.0.0.1:{server.server_port}",
                    KEYCARD_API_API_KEY="scripted-key-1", XDG_CONFIG_HOME="/nonexistent")
    if retries is not None:
        env["KCSH_MAX_RETRIES"] = str(retries)
    return kcsh("-e", code, env=env)


def gaps():
    """Seconds between the requests the server saw. The waits are checked
    from below exactly; from above with room (LATE) for a loaded machine, as
    the bound only has to tell them from a wait much longer."""
    times = [t for t, _, _ in Scripted.seen]
    return [b - a for a, b in zip(times, times[1:])]


LATE = 0.5


def test_retry_after_ms_and_seconds(scripted):
    r = scripted_run(scripted, [(503, {"retry-after-ms": "300"}), (429, {"Retry-After": "1"})])
    assert r.stdout.strip() == "3", r.stderr
    g = gaps()
    assert 0.28 <= g[0] < 0.3 + LATE and 0.95 <= g[1] < 1 + LATE, g
    assert len({rid for _, rid, _ in Scripted.seen}) == 1
    assert all(ua.startswith("kcsh/") for _, _, ua in Scripted.seen)


def test_retry_after_http_date(scripted):
    when = formatdate(time.time() + 2, usegmt=True)  # whole seconds: 1-2 s away
    r = scripted_run(scripted, [(503, {"Retry-After": when})])
    assert r.stdout.strip() == "2", r.stderr
    assert 0.9 <= gaps()[0] < 2 + LATE, gaps()


def test_retry_after_out_of_range_falls_back_to_backoff(scripted):
    r = scripted_run(scripted, [(503, {"Retry-After": "3600"})])
    assert r.stdout.strip() == "2"
    assert 0.3 <= gaps()[0] < 0.5 + LATE, gaps()  # 0.5 s less 0-25% jitter


def test_x_should_retry(scripted):
    # The server forbids a retry of a 503, and asks for one of a 400.
    code = "local ok, e = pcall(kc.request, {path = '/x'}); print(ok and 'ok' or e.status)"
    r = scripted_run(scripted, [(503, {"x-should-retry": "false"})], code)
    assert r.stdout.strip() == "503" and len(Scripted.seen) == 1
    r = scripted_run(scripted, [(400, {"x-should-retry": "true", "retry-after-ms": "10"})])
    assert r.stdout.strip() == "2" and len(Scripted.seen) == 2


def test_backoff_doubles(scripted):
    r = scripted_run(scripted, [(500, {}), (500, {}), (500, {})], retries=3)
    assert r.stdout.strip() == "4", r.stderr
    g = gaps()
    assert 0.37 <= g[0] < 0.5 + LATE and 0.75 <= g[1] < 1 + LATE and 1.5 <= g[2] < 2 + LATE, g


def test_per_call_headers(scripted):
    code = """
        kc.request{path = '/x', headers = {["X-Trace-Tag"] = "abc", ["X-N"] = 5}}
        for _, h in ipairs{{["X-Bad"] = "a\\nb"}, {Authorization = "Bearer x"}, {["a:b"] = "c"}} do
          local ok, e = pcall(kc.request, {path = '/x', headers = h})
          print(e)
        end
    """
    r = scripted_run(scripted, [], code)
    lines = r.stdout.splitlines()
    assert Scripted.headers[0]["X-Trace-Tag"] == "abc" and Scripted.headers[0]["X-N"] == "5"
    assert len(Scripted.headers) == 1  # the bad ones sent nothing
    assert "on one line each" in lines[0] and "not an Authorization header" in lines[1] and "on one line" in lines[2]


def test_request_async_overlaps_and_cancels_in_flight(start_sandbox):
    sb = start_sandbox("--demo")
    # 1 s each: eight one after the other would take 8 s, twice the bound.
    sb.faults("latency=1s")
    started = time.monotonic()
    r = kcsh("-e", """
        local pending = {}
        for i = 1, 8 do pending[i] = kc.request_async{path = "/organizations/acme"} end
        for i = 1, 8 do assert(pending[i]:wait().label == "acme") end
        local slow = kc.request_async{path = "/organizations/acme", retries = 0}
        slow:cancel()
        print(pcall(slow.wait, slow))
    """, env=sb.env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "false\tkc.request_async: the request was cancelled"
    assert time.monotonic() - started < 4.0


def test_invalid_json_answer_is_a_decode_error(scripted):
    code = """
        for i = 1, 3 do
          local ok, e = pcall(kc.request, {path = '/x'})
          print(e.kind, e.status, e.attempts, (e.message:gsub('\\n', ' ')))
        end
    """
    r = scripted_run(scripted, [(200, {"body": b'{"items":[1,2'}), (200, {"body": b'\xff\xfe'}),
                                (502, {"body": b"<html>Bad gateway</html>", "x-should-retry": "false"})], code)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("decode\t200\t1\tthe answer is not valid JSON: invalid JSON:"), lines
    assert lines[1].startswith("decode\t200\t1\t"), lines
    assert lines[2] == "api\t502\t1\t<html>Bad gateway</html>", lines


def test_raw_answer_is_the_bytes_as_they_came(scripted):
    # Not JSON (trailing text), keys out of order: raw keeps the bytes as sent.
    code = """
        local body, meta = kc.request{path = '/x', raw = true}
        io.write(body, '|', meta.status, '|')
        body = kc.request_async{path = '/x', raw = true}:wait()
        io.write(#body, '|')
        local ok, e = pcall(kc.request, {path = '/x', raw = true})
        io.write(e.kind, ' ', e.status, ' ', e.message, '|')
        print(select(2, pcall(kc.request, {path = '/x', raw = 1})))
    """
    r = scripted_run(scripted, [(200, {"body": b'{"b":1, "a":[]} tail'}), (200, {"body": b""}),
                                (404, {"body": b'{"message":"gone","code":"not_found"}'})], code)
    assert r.stdout.startswith('{"b":1, "a":[]} tail|200|0|api 404 gone|'), r.stdout + r.stderr
    assert "kc.request: 'raw' must be a boolean" in r.stdout, r.stdout


def test_kc_trace_switches_tracing(start_sandbox):
    sb = start_sandbox()
    sb.faults("503=1")
    r = kcsh("-e", """
        pcall(kc.request, {path = "/organizations/quiet", retries = 0})
        kc.trace(true)
        pcall(kc.request, {path = "/organizations/loud", retries = 1})
        kc.trace(false)
        pcall(kc.request, {path = "/organizations/quiet-again", retries = 0})
    """, env=sb.env())
    lines = [l for l in r.stderr.splitlines() if l.startswith("kcsh: ")]
    assert len(lines) == 2, r.stderr
    assert lines[0].startswith(f"kcsh: GET {sb.base}/organizations/loud -> 503, retry in 1000 ms (1 attempt, ")
    assert lines[1].startswith(f"kcsh: GET {sb.base}/organizations/loud -> 503 (2 attempts, ")
    assert "quiet" not in r.stderr and sb.key not in r.stderr


STATE_CONFLICT = """
    local org = kc.organizations:create{name = "Conflicts"}
    org.invitations:create{email = "c@example.com", role = "org_member"}
    local ok, err = pcall(org.invitations.create, org.invitations, {email = "c@example.com", role = "org_member"})
    print(ok, err.status, err.code, err.attempts)
"""


def test_a_state_conflict_is_an_answer_not_retried(sandbox):
    # the SDKs retry every 409 twice with backoff: kcsh answers at once when the
    # code says what state the invitation is in
    start = time.monotonic()
    r = run(sandbox, STATE_CONFLICT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "false\t409\tinvitation_pending\t1"
    assert time.monotonic() - start < 5
    # and asks the SDKs' way when told to
    r = run(sandbox, STATE_CONFLICT, KCSH_RETRY_CONFLICTS="1", KCSH_MAX_RETRIES="1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "false\t409\tinvitation_pending\t2"


def test_a_409_without_a_state_code_is_retried():
    class Racy(JSONHandler):
        def do_GET(self):
            self.server.hits += 1
            body = json.dumps({"message": "changed meanwhile", "code": "conflict", "status": 409}).encode()
            self.send_json(409, body, {"retry-after-ms": "0"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), Racy)
    server.hits = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = clean_env(KEYCARD_API_BASE_URL=f"http://127.0.0.1:{server.server_port}", KEYCARD_API_API_KEY="k")
        r = kcsh("-e", 'local ok, e = pcall(kc.request, {path = "/x"}); print(e.code, e.attempts)', env=env)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "conflict\t3" and server.hits == 3
    finally:
        server.shutdown()


@pytest.mark.parametrize("once", [True, False])
def test_a_write_sent_once_is_never_sent_again_by_libcurl(start_sandbox, once):
    # A reused connection that drops after the server carried a POST out
    # (lost=1): libcurl sends the request again on a new connection by itself,
    # unless it cannot rewind the body, which is how `once` writes go (the
    # journal's creates). retries = 0: only libcurl could send it again.
    sb = start_sandbox("--demo")
    sb.clear_requests()
    r = run(sb, """
        kc.request{path = "/organizations/acme"}  -- a connection to reuse
        kc.request{method = "PUT", path = "/_sandbox/faults", body = {spec = "lost=1"}, retries = 0}
        local ok, e = pcall(kc.request, {method = "POST", path = "/organizations/acme/invitations",
          body = {email = "once@acme.com", role = "org_member"}, retries = 0, once = %s,
          request_id = "11111111-2222-3333-4444-555555555555"})
        print(ok, e.kind, e.attempts)
    """ % ("true" if once else "false"))
    sb.faults("")
    posts = [q for q in sb.requests() if q["method"] == "POST"]
    assert all(q["request_id"] == "11111111-2222-3333-4444-555555555555" for q in posts), posts
    if once:
        assert r.stdout.split() == ["false", "transport", "1"], r.stderr
        assert len(posts) == 1, posts
    else:
        # What the official SDKs' users get as well: the same create twice.
        assert len(posts) == 2, posts
    invs = [i for i in sb.get("/organizations/acme/invitations", params={"limit": 1000}).json()["items"]
            if i["email"] == "once@acme.com"]
    assert len(invs) == 1


def test_once_and_request_id_are_checked(sandbox):
    r = run(sandbox, """
        print(select(2, pcall(kc.request, {path = "/x", once = "yes"})))
        print(select(2, pcall(kc.request, {path = "/x", request_id = "a\\nb"})))
        print(select(2, pcall(kc.request, {path = "/x", request_id = 5})))
    """)
    lines = r.stdout.splitlines()
    assert "'once' must be a boolean" in lines[0]
    assert "'request_id' must be a string on one line" in lines[1]
    assert "'request_id' must be a string on one line" in lines[2]
