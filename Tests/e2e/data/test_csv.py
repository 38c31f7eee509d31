"""kc.csv against Python's csv module: the same rows from the same bytes
(quotes, separators and line breaks inside fields, CRLF, a byte order mark,
records across read chunks), errors naming file, line and column, files that
Python reads back as written, and constant memory on a big file."""
import csv
import json
import random
import subprocess

import pytest

from e2epaths import KCSH, ROOT, clean_env

pytestmark = pytest.mark.asan


def lua(code, *args, input=None):
    assert KCSH.exists(), f"{KCSH} is not built"
    r = subprocess.run([str(KCSH), "-e", code, *args], capture_output=True, text=True, env=clean_env(),
                       cwd=ROOT, timeout=120, input=input)
    return r


def parsed(path, **opts):
    """Rows kcsh reads from `path`, as JSON (arrays with header = false)."""
    o = ", ".join(f"{k} = {v}" for k, v in opts.items())
    r = lua(f"io.write(kc.json.encode(kc.csv.read({json.dumps(str(path))}, {{{o}}}):collect()))")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    return [] if rows == {} else rows  # an empty Lua table encodes as {}


def test_random_files_parse_as_python_parses_them(tmp_path):
    rng = random.Random(7)
    alphabet = ['a', 'b', ' ', ',', ';', '"', '\n', '\r\n', 'é', '\t', 'xyz']
    for case in range(12):
        rows = [["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(4)]
                for _ in range(rng.randint(1, 300))]
        # a row whose fields are not all empty: a blank line holds no record
        rows = [r if any(r) else ["x", "", "", ""] for r in rows]
        sep = [",", ";", "\t"][case % 3]
        eol = ["\r\n", "\n"][case % 2]
        p = tmp_path / f"r{case}.csv"
        with open(p, "w", newline="", encoding="utf-8") as f:
            csv.writer(f, delimiter=sep, lineterminator=eol).writerows(rows)
        sep_lua = json.dumps(sep)
        assert parsed(p, header="false", sep=sep_lua) == rows, case


def test_header_bom_and_records_across_chunks(tmp_path):
    p = tmp_path / "people.csv"
    long = "z" * 70000 + '"' + "\n" * 3  # longer than a read chunk, with a quote and line breaks
    rows = [{"email": f"u{i}@acme.com", "role": "org_member", "note": long if i == 5 else f"n{i}"} for i in range(40)]
    with open(p, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.DictWriter(f, fieldnames=["email", "role", "note"])
        w.writeheader()
        w.writerows(rows)
    assert p.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert parsed(p) == rows
    # fields are the file's exact strings, an empty one is ""
    p.write_text('a,b,c\n1,,"2"\n', encoding="utf-8")
    assert parsed(p) == [{"a": "1", "b": "", "c": "2"}]


@pytest.mark.parametrize("text, where", [
    ('a,b\n1,2\n3,"x"y\n', ":3:6: a quoted field is followed by 'y'"),
    ('a,b\n1,2\n3,x"y\n', ":3:4: a quote inside an unquoted field"),
    ('a,b\n1,"2\n\n', ':2:3: a quoted field is not closed'),
    ('a,b\n1,2\n"multi\nline",4,5\n', ":3:1: 3 fields where the header has 2"),
    ('a,b,a\n1,2,3\n', ":1:1: the header names 'a' twice"),
    ('a,b\n"one\ntwo",x"\n', ":3:7: a quote inside an unquoted field"),
])
def test_malformed_rows_name_file_line_and_column(tmp_path, text, where):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    r = lua(f'for row in kc.csv.read({json.dumps(str(p))}) do end')
    assert r.returncode == 1
    assert f"kc.csv.read: {p}{where}" in r.stderr, r.stderr


def test_bad_arguments():
    for code, msg in [
        ('kc.csv.read("/nonexistent/x.csv")', "kc.csv.read: /nonexistent/x.csv: No such file or directory"),
        ('kc.csv.read(42)', "bad argument #1 to 'kc.csv.read' (path, file or \"-\" expected, got number)"),
        ('kc.csv.read("-", {sep = ",,"})', "'sep' must be one character"),
        ('kc.csv.read("-", 1)', "bad argument #2 to 'kc.csv.read' (table expected, got number)"),
        ('kc.csv.write("-", 5)', "bad argument #2 to 'kc.csv.write'"),
        ('kc.csv.write("-", {{a = print}})', "cannot write a function in a CSV field"),
        ('local w = kc.csv.writer("-") w:close() w:write{}', "write after close"),
        # a field no column holds is an error, not a silent loss
        ('kc.csv.write("-", {{a = 1}, {a = 2, b = 3}})', "kc.csv.write: row 2 has field 'b', which no column holds (name the columns with opts.columns)"),
    ]:
        r = lua(code, input="")
        assert r.returncode == 1 and msg in r.stderr, (code, r.stderr)


def test_stdin_and_chaining():
    r = lua('for row in kc.csv.read("-"):filter(function(r) return r.role == "org_admin" end) do print(row.email) end',
            input="email,role\na@x.com,org_member\nb@x.com,org_admin\nc@x.com,org_admin\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["b@x.com", "c@x.com"]


def test_written_files_read_back_in_python(tmp_path):
    p = tmp_path / "out.csv"
    r = lua(f'''
      local rows = {{
        {{email = "a@x.com", note = 'says "hi", twice', n = 1, ok = true, perms = kc.null}},
        {{email = "b@x.com", note = "two\\nlines", n = 2.5, ok = false}},
        {{email = "c@x.com", n = kc.null, perms = {{read = true}}}},
      }}
      print(kc.csv.write({json.dumps(str(p))}, rows))
      -- columns given, CRLF, another separator, from an iterator
      print(kc.csv.write({json.dumps(str(p) + "2")}, kc.iter(rows):map(function(r) return r end),
        {{columns = {{"n", "email"}}, crlf = true, sep = ";"}}))
    ''')
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["3", "3"]
    with open(p, newline="") as f:
        back = list(csv.DictReader(f))
    assert back == [
        {"email": "a@x.com", "n": "1", "note": 'says "hi", twice', "ok": "true", "perms": ""},
        {"email": "b@x.com", "n": "2.5", "note": "two\nlines", "ok": "false", "perms": ""},
        {"email": "c@x.com", "n": "", "note": "", "ok": "", "perms": '{"read":true}'},
    ]
    # quoting only where needed
    assert p.read_text().splitlines()[1] == 'a@x.com,1,"says ""hi"", twice",true,'
    raw = (tmp_path / "out.csv2").read_bytes()
    assert raw == b"n;email\r\n1;a@x.com\r\n2.5;b@x.com\r\n;c@x.com\r\n"


def test_streaming_writer_and_arrays():
    r = lua('''
      local w <close> = kc.csv.writer("-", {columns = {"id", "status"}})
      for i = 1, 3 do w:write{id = "u" .. i, status = i == 2 and "failed" or "ok"} end
      kc.csv.write("-", {{"x", "y,z"}, {1, 2}})
    ''')
    assert r.returncode == 0, r.stderr
    assert r.stdout == 'id,status\nu1,ok\nu2,failed\nu3,ok\nx,"y,z"\n1,2\n'
