"""`kcsh -i` with stdin not a terminal: lua.c's REPL without readline
(prompts on stdout, lines from stdin), and the value printer seen through it."""
import os
import select
import signal
import subprocess
import time

import pytest

from e2epaths import clean_env

pytestmark = pytest.mark.asan

TIMEOUT = 10


def run_i(kcsh_bin, tmp_path, stdin):
    env = clean_env(HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    proc = subprocess.run(
        [kcsh_bin, "-i"], input=stdin.encode(), capture_output=True, env=env, timeout=TIMEOUT)
    out = proc.stdout.decode()
    first, _, rest = out.partition("\n")
    assert "Lua" in first or "kcsh" in first  # the version banner (-i implies -v)
    return proc.returncode, rest, proc.stderr.decode()


def show(kcsh_bin, tmp_path, code):
    """What the REPL prints for one line of input."""
    status, out, err = run_i(kcsh_bin, tmp_path, code + "\n")
    assert status == 0 and err == ""
    assert out.startswith("> ") and out.endswith("\n> \n")
    return out[2:-4]


def test_piped_session(kcsh_bin, tmp_path):
    status, out, err = run_i(
        kcsh_bin, tmp_path, "1+1\nfunction f(x)\nreturn x + 1\nend\nf(1)\nerror('e')\n'x', nil, 3\n")
    assert status == 0
    assert out == "> 2\n> >> >> > 2\n> > x\tnil\t3\n> \n"
    assert err.startswith("stdin:1: e\nstack traceback:\n")
    assert not (tmp_path / "state").exists()  # no history without a terminal


def test_piped_incomplete_chunk_at_eof(kcsh_bin, tmp_path):
    status, out, err = run_i(kcsh_bin, tmp_path, "for i = 1, 2 do\n")
    assert status == 0
    assert out == "> >> > \n"  # as lua.c: the error, then a prompt that meets EOF
    assert "'end' expected" in err and "<eof>" in err


def test_piped_prompt(kcsh_bin, tmp_path):
    status, out, _ = run_i(kcsh_bin, tmp_path, "_PROMPT = 'lua> '\n1\n")
    assert out == "> lua> 1\nlua> \n"


def test_tables_nested_and_sorted(kcsh_bin, tmp_path):
    assert show(kcsh_bin, tmp_path, "{a=1,b={2,3}}") == "{ a = 1, b = { 2, 3 } }"
    assert show(kcsh_bin, tmp_path, "{}") == "{}"
    assert show(kcsh_bin, tmp_path, '{c=1, a=2, b=3, 0, [10]=5, ["not id"]=1, ["end"]=2, [true]=1}') == (
        '{ 0, [10] = 5, [true] = 1, a = 2, b = 3, c = 1, ["end"] = 2, ["not id"] = 1 }')


def test_strings_quoted_inside_tables_only(kcsh_bin, tmp_path):
    assert show(kcsh_bin, tmp_path, '"plain"') == "plain"
    assert show(kcsh_bin, tmp_path, r'{"a\nb", "q\"\\", "\0\1", "é", "\xff"}') == (
        r'{ "a\nb", "q\"\\", "\000\001", "é", "\255" }')


def test_cycles_and_shared_tables_are_marked(kcsh_bin, tmp_path):
    assert show(kcsh_bin, tmp_path, "t = {1}; t.me = t; return t") == "<1>{ 1, me = <table 1> }"
    assert show(kcsh_bin, tmp_path, "s = {}; s[1] = 0; return {x = s, y = s}") == (
        "{ x = <1>{ 0 }, y = <table 1> }")


def test_depth_is_limited(kcsh_bin, tmp_path):
    out = show(kcsh_bin, tmp_path, "t = {}; for i = 1, 20 do t = {t} end; return t")
    assert "{...}" in out
    assert out.count("{") == 7  # six levels, then {...}


def test_functions_and_tostring(kcsh_bin, tmp_path):
    assert show(kcsh_bin, tmp_path, "{print, print, type}") == (
        "{ <function 1>, <function 1>, <function 2> }")
    assert show(kcsh_bin, tmp_path, "setmetatable({}, {__tostring = function() return 'OBJ' end})") == "OBJ"
    assert show(kcsh_bin, tmp_path, "print").startswith("function: ")


def test_wide_tables_take_several_lines(kcsh_bin, tmp_path):
    out = show(kcsh_bin, tmp_path,
               "{name = string.rep('n', 50), id = 'org_123', members = {'ana', 'bob'}, "
               "settings = {sso = true, mfa = {required = true, methods = {'totp', 'webauthn'}}}}")
    assert out == (
        "{\n"
        "  id = \"org_123\",\n"
        "  members = { \"ana\", \"bob\" },\n"
        "  name = \"" + "n" * 50 + "\",\n"
        "  settings = {\n"
        "    mfa = { methods = { \"totp\", \"webauthn\" }, required = true },\n"
        "    sso = true\n"
        "  }\n"
        "}")


def test_long_lists_are_packed(kcsh_bin, tmp_path):
    out = show(kcsh_bin, tmp_path, "t = {} for i = 1, 40 do t[i] = i * 1000 end return t")
    lines = out.split("\n")
    assert lines[0] == "{"
    assert lines[-1] == "}"
    assert 2 < len(lines) < 10
    assert all(len(line) <= 80 for line in lines)


def test_several_results_with_a_multiline_table(kcsh_bin, tmp_path):
    out = show(kcsh_bin, tmp_path, "1, {a = string.rep('x', 40), b = string.rep('y', 40)}")
    assert out.startswith("1\n{\n")


def test_error_in_tostring_is_reported(kcsh_bin, tmp_path):
    status, out, err = run_i(
        kcsh_bin, tmp_path, "setmetatable({}, {__tostring = function() error('bad') end})\n1\n")
    assert status == 0
    assert "bad" in err
    assert out.endswith("> 1\n> \n")


def test_sigint_without_a_terminal(kcsh_bin, tmp_path):
    """SIGINT while waiting for a line gives a fresh prompt; while code runs,
    it interrupts the code; the session goes on either way."""
    env = clean_env(HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    proc = subprocess.Popen([kcsh_bin, "-i"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        wait_for(proc, "> ")
        proc.send_signal(signal.SIGINT)
        wait_for(proc, "\n> ")
        # The marker says the loop is running: a fixed sleep raced with a busy machine.
        proc.stdin.write(b"print('looping') while true do end\n")
        proc.stdin.flush()
        wait_for(proc, "looping\n")
        proc.send_signal(signal.SIGINT)
        proc.stdin.write(b"1+1\n")
        proc.stdin.close()
        assert proc.wait(timeout=TIMEOUT) == 0
        out = proc.stdout.read().decode()
        err = proc.stderr.read().decode()
    finally:
        proc.kill()
    assert out.endswith("> 2\n> \n")
    # The hook may fire as print returns ("stdin:1: interrupted!") or in the loop.
    first, _, rest = err.partition("\n")
    assert first.endswith("interrupted!") and rest.startswith("stack traceback:")


def wait_for(proc, text, timeout=TIMEOUT):
    """Reads stdout until it ends with `text` (the prompt has no newline, so
    readline would block)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while not seen.endswith(text.encode()):
        assert time.monotonic() < deadline, seen
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 1)
            assert chunk, seen
            seen += chunk
    return seen
