"""--json: what -e, a script's main chunk and a REPL line return, printed as
JSON lines that a JSON parser reads (records, pages, iterators, nil, errors)."""
import json
import subprocess

import pytest

from sandboxproc import start
from e2epaths import KCSH, ROOT, clean_env


@pytest.fixture(scope="module")
def sb():
    s = start("--demo")
    yield s
    s.stop()


def run(sb, *args, input=None):
    env = sb.env() if sb else clean_env(XDG_CONFIG_HOME="/nonexistent")
    return subprocess.run(["kcsh", *args], executable=KCSH, cwd=ROOT, env=env, input=input, text=True,
                          capture_output=True, timeout=120)


def values(out):
    return [json.loads(line) for line in out.splitlines()]


def test_record(sb):
    r = run(sb, "--json", "-e", 'return kc.org("acme")')
    assert r.returncode == 0, r.stderr
    [org] = values(r.stdout)
    assert org["label"] == "acme" and isinstance(org["id"], str)


def test_page(sb):
    r = run(sb, "--json", "-e", 'return kc.org("acme").users:list{limit = 2}')
    assert r.returncode == 0, r.stderr
    [page] = values(r.stdout)
    assert set(page) == {"items", "page_info"}
    assert len(page["items"]) == 2 and "@" in page["items"][0]["email"]
    assert page["page_info"]["has_next_page"] is True


def test_iterator_drained(sb):
    r = run(sb, "--json", "-e", 'return kc.org("acme").users:each():map(function(u) return u.email end)')
    assert r.returncode == 0, r.stderr
    [emails] = values(r.stdout)
    assert "ana@acme.com" in emails and len(emails) > 2
    r = run(sb, "--json", "-e", 'return kc.org("acme").users:each{role = "org_viewer"}:take(1)')
    [[user]] = values(r.stdout)
    assert user["role"] == "org_viewer"


def test_nil_several_values_and_empty():
    r = run(None, "--json", "-e", "return nil, 1, 'x', {}, kc.json.array{}, {a = {1, 2}}", "-e", "return")
    assert r.returncode == 0, r.stderr
    assert values(r.stdout) == [None, 1, "x", {}, [], {"a": [1, 2]}]


def test_script_and_stdin(tmp_path):
    script = tmp_path / "s.lua"
    script.write_text("return {n = select('#', ...)}\n")
    r = run(None, "--json", str(script), "a", "b")
    assert values(r.stdout) == [{"n": 2}]
    r = run(None, "--json", input="return 5\n")
    assert values(r.stdout) == [5]


def test_plain_without_json():
    r = run(None, "-e", "return 1")
    assert r.returncode == 0 and r.stdout == ""


def test_errors(sb, tmp_path):
    r = run(sb, "--json", "-e", 'return kc.org("nope")')
    assert r.returncode == 1 and r.stdout == ""
    [e] = values(r.stderr)
    assert e["error"]["status"] == 404 and e["error"]["code"] == "not_found"
    assert "not found" in e["error"]["message"]
    script = tmp_path / "json-error.lua"
    script.write_text('kc.org("acme").users:get("nope")\n')
    r = run(sb, "--json", str(script))
    [e] = values(r.stderr)
    assert r.returncode == 1 and e["error"]["status"] == 404 and e["error"]["method"] == "GET"
    r = run(None, "--json", "-e", 'error("boom")')
    [e] = values(r.stderr)
    assert e["error"]["message"].startswith("(command line):1: boom")
    r = run(None, "--json", "-e", "error({1, 2})")
    [e] = values(r.stderr)
    assert r.returncode == 1 and "message" in e["error"]


def test_repl(sb):
    r = run(sb, "--json", "-i", input='kc.org("acme").label\nkc.org("acme").users:list{limit = 1}\n')
    assert r.returncode == 0, r.stderr
    lines = [l.removeprefix("> ") for l in r.stdout.splitlines()]
    parsed = [json.loads(l) for l in lines if l[:1] in ('"', "{")]  # not the banner, not prompts
    assert parsed[0] == "acme" and len(parsed[1]["items"]) == 1


def test_help_states_the_rule():
    r = run(None, "--help")
    assert "--json" in r.stdout and "page_info" in r.stdout and "Reserved" not in r.stdout.split("--json")[0][-40:]
