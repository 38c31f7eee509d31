"""kc.json.read, kc.json.lines and kc.json.write: files in and out, errors
that name the file (and the line, for JSON Lines)."""
import json

import pytest

from test_csv import lua

pytestmark = pytest.mark.asan


def test_read_write_round_trip(tmp_path):
    p = tmp_path / "org.json"
    p.write_text(json.dumps({"label": "acme", "users": [{"email": "a@x.com", "n": 1.5}], "empty": []}))
    r = lua(f'''
      local v = kc.json.read({json.dumps(str(p))})
      print(v.label, v.users[1].email, v.users[1].n, #v.empty)
      kc.json.write({json.dumps(str(p) + ".out")}, v, {{pretty = true}})
      kc.json.write("-", {{b = {{}}}})
    ''')
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["acme\ta@x.com\t1.5\t0", '{"b":{}}']
    out = (tmp_path / "org.json.out").read_text()
    assert json.loads(out) == json.loads(p.read_text())
    assert out.startswith('{\n  "empty": [],\n  "label": "acme",\n') and out.endswith("}\n")


def test_lines(tmp_path):
    p = tmp_path / "events.jsonl"
    p.write_text('{"id": 1}\n\n{"id": 2, "tags": ["a"]}\n  \n{"id": 3}\n')
    r = lua(f'''
      for v in kc.json.lines({json.dumps(str(p))}):filter(function(v) return v.id ~= 2 end) do print(v.id) end
      print(kc.json.lines({json.dumps(str(p))}):count())
    ''')
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["1", "3", "3"]
    p.write_text('{"id": 1}\n{"id": \n')
    r = lua(f'for v in kc.json.lines({json.dumps(str(p))}) do print(v.id) end')
    assert r.returncode == 1 and r.stdout == "1\n"
    assert f"kc.json.lines: {p}:2: invalid JSON" in r.stderr, r.stderr
    r = lua('for v in kc.json.lines("-") do print(v.x) end', input='{"x": "from stdin"}\n')
    assert r.stdout == "from stdin\n", r.stderr


def test_errors_name_the_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"a": [1,\n 2,]}')
    for code, msg in [
        (f'kc.json.read({json.dumps(str(p))})', f"kc.json.read: {p}: invalid JSON: expected a value at line 2, column 4"),
        ('kc.json.read("/nonexistent/x.json")', "kc.json.read: /nonexistent/x.json: No such file or directory"),
        ('kc.json.read({})', "bad argument #1 to 'kc.json.read' (path, file or \"-\" expected, got table)"),
        ('kc.json.write("/nonexistent/dir/x.json", {})', "kc.json.write: /nonexistent/dir/x.json: No such file or directory"),
        ('kc.json.write("-", {f = print})', "cannot encode a function as JSON"),
    ]:
        r = lua(code)
        assert r.returncode == 1 and msg in r.stderr, (code, r.stderr)


def test_sorted_encoding_is_compact_and_the_same_on_every_run():
    # {sorted = true}: keys in byte order at every depth, no white space (the
    # journal's canonical bodies); a table's own order differs from run to run.
    r = lua('''
      local t = {zeta = 1, alpha = {y = kc.null, x = {3, 2}}, mid = {}, ["B"] = "b"}
      for i = 1, 50 do t["k" .. i] = i end
      print(kc.json.encode(t, {sorted = true}))
    ''')
    assert r.returncode == 0, r.stderr
    text = r.stdout.strip()
    keys = ["B", "alpha"] + sorted(f"k{i}" for i in range(1, 51)) + ["mid", "zeta"]
    assert list(json.loads(text)) == keys
    assert text.startswith('{"B":"b","alpha":{"x":[3,2],"y":null},"k1":1,"k10":10,')
    assert " " not in text and "\n" not in text
