"""kc.parallel against sandboxes over loopback: order and completeness of
results, errors by index, faults that lose nothing, adaptation to a rate
limit, flat memory over a big walk, Ctrl-C, the progress bar, nesting, and
bad arguments. Paging that a buggy server would repeat is here too (the
iterators kc.parallel walks)."""
import http.server
import json
import re
import threading
import time

import pexpect
import pytest

from jsonhandler import JSONHandler
from sandboxproc import start
from treelib import KCSH, ROOT, clean_env, kcsh, ok

# Creates `n` invitations in a new organization through the tree; prints the
# report, then checks every result against its item (source order) and the
# server's count.
CREATES = '''
local n, c, opts = %d, %d, %s
local org = kc.organizations:create{ name = "Parallel" }
local emails = {}
for i = 1, n do emails[i] = ("user%%d@example.com"):format(i) end
opts.concurrency = c
local r = kc.parallel(emails, function(email)
  return org.invitations:create{ email = email, role = "org_member" }
end, opts)
print(r.ok, r.failed, r.requests, r.throttled, ("%%.2f"):format(r.elapsed))
local inorder = 0
for i = 1, n do if r.results[i] and r.results[i].email == emails[i] then inorder = inorder + 1 end end
print(inorder)
print(org.invitations:each{}:count())
print(tostring(r))
'''


def creates(sandbox, n, concurrency, opts="{}"):
    lines = ok(CREATES % (n, concurrency, opts), sandbox)
    done, failed, requests, throttled, elapsed = lines[0].split("\t")
    return dict(ok=int(done), failed=int(failed), requests=int(requests), throttled=int(throttled),
                elapsed=float(elapsed), in_order=int(lines[1]), listed=int(lines[2]), text=lines[3])


def test_2000_creates_at_concurrency_16_in_source_order():
    s = start()
    try:
        r = creates(s, 2000, 16)
        assert (r["ok"], r["failed"], r["in_order"], r["listed"]) == (2000, 0, 2000, 2000)
        assert r["requests"] == 2000
        assert re.fullmatch(r"kc\.parallel: 2000 ok, 0 failed, 2000 requests, 0 throttled, [\d.]+ s", r["text"])
    finally:
        s.stop()


def test_overlap_makes_latency_cheaper():
    """With 50 ms a request, 64 creates one at a time take over 3 s; at
    concurrency 16 they take a fraction of that."""
    s = start("--faults", "latency=50ms")
    try:
        r = creates(s, 64, 16)
        assert r["ok"] == 64
        assert r["elapsed"] < 1.6, r  # ideal 0.2 s; serial 3.2 s
    finally:
        s.stop()


def test_good_and_bad_items_errors_carry_their_indices(demo):
    lines = ok('''
      local org = kc.organizations:create{ name = "Mixed" }
      local items = {}
      for i = 1, 30 do items[i] = (i % 10 == 0) and ("not-an-email-" .. i) or ("m" .. i .. "@example.com") end
      local r = kc.parallel(items, function(email, i)
        if i == 7 then error("boom at " .. i) end
        return org.invitations:create{ email = email, role = "org_member" }
      end, { concurrency = 5 })
      print(r.ok, r.failed, #r.errors)
      table.sort(r.errors, function(a, b) return a.index < b.index end)
      for _, e in ipairs(r.errors) do
        local err = e.error
        if type(err) == "table" then
          print(e.index, e.item, getmetatable(err) == kc.Error, err.status, err.code)
        else
          print(e.index, e.item, err:match("^[^\\n]*"), err:find("stack traceback", 1, true) ~= nil)
        end
      end
      print(r.results[1].email, r.results[7], r.results[10], r.results[29].email)
    ''', demo)
    assert lines[0] == "26\t4\t4"
    assert lines[1] == "7\tm7@example.com\t[string \"...\"]:6: boom at 7\ttrue" or \
        re.fullmatch(r"7\tm7@example.com\t.*:\d+: boom at 7\ttrue", lines[1])
    assert lines[2:5] == [f"{i}\tnot-an-email-{i}\ttrue\t422\tvalidation_error" for i in (10, 20, 30)]
    assert lines[5] == "m1@example.com\tnil\tnil\tm29@example.com"


def test_transient_faults_lose_nothing():
    s = start("--faults", "503=0.2,429=0.05,reset=0.02,retry-after=10ms", "--seed", "7")
    try:
        r = creates(s, 1000, 16)  # the count after it is made under the same faults
        assert (r["ok"], r["failed"], r["in_order"]) == (1000, 0, 1000), r
        assert r["listed"] == 1000
        assert r["requests"] > 1000 and r["throttled"] > 0
    finally:
        s.stop()


def test_rate_limit_adaptation_throttles_less_than_without():
    def run(opts):
        s = start("--rate-limit", "200")
        try:
            return creates(s, 1000, 32, opts)
        finally:
            s.stop()
    adaptive, fixed = run("{}"), run("{ adaptive = false }")
    for r in (adaptive, fixed):
        assert (r["ok"], r["failed"], r["in_order"], r["listed"]) == (1000, 0, 1000, 1000), r
    # a bucket of 200/s with bursts of 200: 1,000 creates need about 4 s
    assert 3.0 < adaptive["elapsed"] < 9.0, adaptive
    assert adaptive["throttled"] * 2 < fixed["throttled"], (adaptive, fixed)


def test_rate_option_caps_requests_per_second(demo):
    lines = ok('''
      local t = {} for i = 1, 30 do t[i] = i end
      local r = kc.parallel(t, function() return kc.request{path = "/organizations/acme"}.label end,
        { concurrency = 16, rate = 20 })
      print(r.ok, r.elapsed)
    ''', demo)
    done, elapsed = lines[0].split("\t")
    assert done == "30"
    assert 1.0 < float(elapsed) < 4.0  # 30 at 20/s, the first 2 at once: about 1.4 s


def test_each_of_100000_users_in_flat_memory():
    s = start("--scale", "100000")
    try:
        lines = ok('''
          local r = kc.parallel(kc.org("scale").users:each{}, function(u) return #u.email end,
            { results = false })
          print(r.ok, r.failed, next(r.results))
          for l in io.lines("/proc/self/status") do if l:match("^VmHWM") then print(l:match("%d+")) end end
        ''', s, timeout=300)
        assert lines[0] == "100000\t0\tnil"
        assert int(lines[1]) < 64 * 1024, f"peak RSS {lines[1]} kB"
    finally:
        s.stop()


def test_on_error_stop_raises_the_first_failure_and_leaves_nothing_running(demo):
    demo.faults("latency=200ms")
    try:
        lines = ok('''
          local t = {} for i = 1, 40 do t[i] = i end
          local started = 0
          local ok, e = pcall(kc.parallel, t, function(i)
            started = started + 1
            if i == 3 then return kc.request{path = "/organizations/no-such-org"} end
            return kc.request{path = "/organizations/acme"}
          end, { concurrency = 4, on_error = "stop" })
          print(ok, getmetatable(e) == kc.Error, e.status, started < 40)
          print(kc.request{path = "/organizations/globex"}.label)
        ''', demo)
    finally:
        demo.faults("")
    assert lines == ["false\ttrue\t404\ttrue", "globex"]


def test_nested_parallel(demo):
    lines = ok('''
      local r = kc.parallel({"acme", "globex"}, function(outer)
        local inner = kc.parallel({1, 2, 3}, function(j) return kc.org(outer).label .. j end)
        return table.concat(inner.results, ",")
      end)
      print(r.ok, r.results[1], r.results[2])
    ''', demo)
    assert lines == ["2\tacme1,acme2,acme3\tglobex1,globex2,globex3"]


def test_sources_iterators_functions_and_async_inside(demo):
    lines = ok('''
      local n = 0
      local r = kc.parallel(function() n = n + 1; if n <= 3 then return n end end, function(i) return i * 2 end)
      print(r.ok, table.concat(r.results, ","))
      local demo = { acme = true, globex = true, initech = true } -- other tests add organizations
      r = kc.parallel(kc.organizations:each{}:filter(function(o) return demo[o.label] end), function(org)
        local a = kc.request_async{path = "/organizations/" .. org.id}
        local b = kc.request_async{path = "/organizations/" .. org.id .. "/users", query = {limit = 1}}
        return a:wait().label .. ":" .. #b:wait().items
      end)
      table.sort(r.results)
      print(r.ok, table.concat(r.results, ","))
    ''', demo)
    assert lines[0] == "3\t2,4,6"
    assert lines[1] == "3\tacme:1,globex:1,initech:1"


@pytest.mark.parametrize("call, message", [
    ("kc.parallel(5, print)", "bad argument #1 to 'kc.parallel' (table, kc iterator or function expected, got number)"),
    ("kc.parallel({}, 5)", "bad argument #2 to 'kc.parallel' (function expected, got number)"),
    ("kc.parallel({}, print, 5)", "bad argument #3 to 'kc.parallel' (table expected, got number)"),
    ("kc.parallel({}, print, {concurency = 2})", "kc.parallel: unknown option 'concurency' (did you mean 'concurrency'?)"),
    ("kc.parallel({}, print, {concurrency = 0})", "kc.parallel: 'concurrency' must be a positive integer, got 0"),
    ("kc.parallel({}, print, {rate = -1})", "kc.parallel: 'rate' must be a positive number of requests a second, got -1"),
    ("kc.parallel({}, print, {on_error = 'halt'})", "kc.parallel: 'on_error' must be \"stop\" or \"continue\", got halt"),
    ("kc.parallel({}, print, {progress = 3})", "kc.parallel: 'progress' must be a boolean or a label, got number"),
])
def test_bad_arguments(call, message):
    lines = ok(f"print(select(2, pcall(function() return {call} end)))")
    assert lines[0].endswith(message), lines


def test_bad_request_inside_a_task_fails_that_item(demo):
    lines = ok('''
      local r = kc.parallel({1, 2}, function(i)
        if i == 1 then return kc.request{path = "/organizations/acme", nope = 1} end
        return kc.request{path = "/organizations/acme"}.label
      end)
      print(r.ok, r.failed, r.errors[1].index, (tostring(r.errors[1].error):match("^[^\\n]*")))
    ''', demo)
    assert lines == ["1\t1\t1\tkc.request: unknown field 'nope'"]


def test_report_write_csv(demo, tmp_path):
    path = tmp_path / "report.csv"
    ok(f'''
      local r = kc.parallel({{"acme", "nope"}}, function(label) return kc.org(label) end)
      print(r:write_csv("{path}"))
    ''', demo)
    rows = path.read_text().splitlines()
    assert rows[0] == "index,outcome,status,code,message,id"
    assert rows[1].startswith("1,ok,,,,")
    assert rows[2].startswith("2,failed,404,not_found,")


# --- Ctrl-C and the progress bar, through a pseudo-terminal -----------------

def spawn(args, sandbox, timeout=20):
    env = clean_env(KEYCARD_API_BASE_URL=sandbox.base, KEYCARD_API_API_KEY=sandbox.key, TERM="xterm",
                    XDG_STATE_HOME="/nonexistent-kcsh-state", HOME="/nonexistent-kcsh-home")
    return pexpect.spawn(str(KCSH), args, env=env, cwd=str(ROOT), encoding="utf-8", timeout=timeout,
                         dimensions=(24, 200))


SLOW_RUN = '''
local t = {} for i = 1, 200 do t[i] = i end
print("started")
local ok, e = pcall(kc.parallel, t, function(i)
  if i == %s then while true do end end
  return kc.request{path = "/organizations/acme"}
end, { concurrency = 8, progress = false })
print("caught", ok, tostring(e), e.report ~= nil, e.report and e.report.ok < 200)
print("after", kc.request{path = "/organizations/globex"}.label)
'''


@pytest.mark.parametrize("busy", ["0", "20"], ids=["requests-in-flight", "busy-loop-in-a-task"])
def test_ctrl_c_in_a_script_stops_within_a_moment(tmp_path, busy):
    s = start("--demo", "--faults", "latency=300ms")
    try:
        script = tmp_path / "slow.lua"
        script.write_text(SLOW_RUN % busy)
        child = spawn([str(script)], s)
        child.expect_exact("started")
        time.sleep(0.8)
        sent = time.monotonic()
        child.sendintr()
        child.expect(r"caught\tfalse\tinterrupted\ttrue\ttrue")
        took = time.monotonic() - sent
        child.expect(r"after\tglobex")
        child.expect(pexpect.EOF)
        assert took < 0.5, f"interrupted after {took:.3f} s"  # 200 ms asked; room for a loaded machine
    finally:
        s.stop()


def test_ctrl_c_in_the_repl_returns_to_the_prompt(demo):
    demo.faults("latency=300ms")
    try:
        child = spawn([], demo)
        child.expect_exact("> ")
        child.sendline('r = kc.parallel({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}, '
                       'function() return kc.request{path = "/organizations/acme"} end, {concurrency = 2})')
        time.sleep(0.7)
        child.sendintr()
        child.expect("interrupted")
        child.expect_exact("> ")
        demo.faults("")
        child.sendline('kc.org("globex").label')
        child.expect_exact("globex")
        child.expect_exact("> ")
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        demo.faults("")


def test_progress_bar_on_a_terminal_and_not_when_piped(tmp_path):
    s = start("--faults", "latency=20ms")
    try:
        script = tmp_path / "bar.lua"
        script.write_text('''
          local t = {} for i = 1, 120 do t[i] = i end
          local r = kc.parallel(t, function() return kc.request{path = "/organizations"} end,
            { concurrency = 4, progress = "inviting" })
          print("done", r.ok)
        ''')
        child = spawn([str(script)], s)
        child.expect(r"inviting  (\d+)/120 \(\d+%\)  \d+/s")
        child.expect(r"done\t120")
        child.expect(pexpect.EOF)
        piped = kcsh(script.read_text(), s)
        assert piped.rc == 0 and piped.lines == ["done\t120"]
        assert "\x1b[K" not in piped.err and "inviting" not in piped.err
    finally:
        s.stop()


# --- Paging a server got wrong ----------------------------------------------

class BuggyPages(JSONHandler):
    """GET /organizations: two pages whose second repeats an item of the
    first; with server.loop set, the second page hands back the first's cursor."""

    def do_GET(self):
        after = re.search(r"after=([^&]+)", self.path)
        after = after and after.group(1)
        if after is None:
            body = {"items": [{"id": "o1", "label": "one"}, {"id": "o2", "label": "two"}],
                    "page_info": {"has_next_page": True, "end_cursor": "c1"}}
        elif self.server.loop:
            body = {"items": [{"id": "o3", "label": "three"}], "page_info": {"has_next_page": True, "end_cursor": "c1"}}
        else:
            body = {"items": [{"id": "o2", "label": "two"}, {"id": "o3", "label": "three"}],
                    "page_info": {"has_next_page": False, "end_cursor": None}}
        self.send_json(200, json.dumps(body).encode())


@pytest.mark.parametrize("loop", [False, True], ids=["repeated-row", "repeated-cursor"])
def test_a_walk_never_repeats_an_id_and_stops_on_a_repeated_cursor(loop):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BuggyPages)
    server.loop = loop
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        r = kcsh('''
          for o in kc.organizations:each{} do print(o.id) end
        ''', env={"KEYCARD_API_BASE_URL": f"http://127.0.0.1:{server.server_port}",
                  "KEYCARD_API_API_KEY": "test-key"})
    finally:
        server.shutdown()
    if loop:
        assert r.lines == ["o1", "o2", "o3"]
        assert r.rc == 1
        assert "the server sent page cursor 'c1' twice in one walk" in r.err
    else:
        assert r.rc == 0, r.err
        assert r.lines == ["o1", "o2", "o3"]
