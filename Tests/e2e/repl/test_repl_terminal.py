"""The REPL on a terminal: kcsh driven through a pseudo-terminal with pexpect.

Every wait is short (TIMEOUT), so a hang fails fast instead of stalling the
suite. HOME and XDG_STATE_HOME point into the test's temporary directory."""
import os
import re
import stat

import pexpect
import pytest

pytestmark = pytest.mark.asan

TIMEOUT = 10  # room for the ASan build on a loaded machine
# The prompt on a terminal names the target: kcsh(sandbox)>, kcsh(prod)>, or
# kcsh> (credentials from the environment).
PROMPT = re.compile(r"\r\nkcsh(?:\([^)\r\n]*\))?> ")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x07")


def environment(tmp_path, **extra):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm",
        "LANG": "C.UTF-8",
    }
    if "ASAN_OPTIONS" in os.environ:
        env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"]
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


@pytest.fixture
def spawn(kcsh_bin, tmp_path):
    """Starts kcsh on a pseudo-terminal and waits for its first prompt."""
    (tmp_path / "home").mkdir(exist_ok=True)
    children = []

    def start(*args, prompt="> ", **env):
        child = pexpect.spawn(
            kcsh_bin, list(args), env=environment(tmp_path, **env), encoding="utf-8",
            timeout=TIMEOUT, dimensions=(24, 200))
        children.append(child)
        child.expect_exact(prompt)
        return child

    yield start
    for child in children:
        child.close(force=True)


def ask(child, line, prompt=PROMPT):
    """Sends a line and returns what was printed before the next prompt,
    without the echo of the line and without terminal escapes."""
    child.sendline(line)
    if isinstance(prompt, str):
        child.expect_exact(prompt)
    else:
        child.expect(prompt)
    text = ANSI.sub("", child.before).replace("\r\n", "\n")
    return text.split("\n", 1)[1] if "\n" in text else ""


def history_path(tmp_path):
    return tmp_path / "state" / "kcsh" / "history"


def test_expressions_are_printed(spawn):
    child = spawn()
    assert ask(child, "1+1") == "2"
    assert ask(child, "{a=1,b={2,3}}") == "{ a = 1, b = { 2, 3 } }"
    assert ask(child, '"x", nil, 3') == "x\tnil\t3"
    assert ask(child, "=10 // 3") == "3"
    assert ask(child, "x = 5") == ""
    assert ask(child, "x") == "5"


def test_multiline_function(spawn):
    child = spawn()
    child.sendline("function triple(x)")
    child.expect_exact(">> ")
    child.sendline("  return x * 3")
    child.expect_exact(">> ")
    assert ask(child, "end") == ""
    assert ask(child, "triple(14)") == "42"


def test_error_then_recovery(spawn):
    child = spawn()
    out = ask(child, 'error("boom")')
    # lua.c's report: message and traceback (on stderr, which is the tty too)
    assert out.startswith("stdin:1: boom\nstack traceback:")
    assert "in main chunk" in out
    child.sendline("y = 1 +")  # incomplete: a continuation line completes it
    child.expect_exact(">> ")
    assert ask(child, "2") == ""
    assert ask(child, "y") == "3"
    out = ask(child, "x = = 1")
    assert "unexpected symbol near '='" in out
    assert ask(child, "2*21") == "42"


def test_ctrl_c_interrupts_running_code(spawn):
    child = spawn()
    # The chunk says when it runs (the echo of the line does not contain
    # "running"), rather than the test guessing how long that takes.
    child.sendline("print('run' .. 'ning') while true do end")
    child.expect_exact("running")
    child.sendintr()
    child.expect_exact("interrupted!")
    child.expect(PROMPT)
    assert ask(child, "1+1") == "2"
    # and again: the handler is re-armed for each run
    child.sendline("print('run' .. 'ning') for i = 1, math.huge do end")
    child.expect_exact("running")
    child.sendintr()
    child.expect_exact("interrupted!")
    child.expect(PROMPT)
    assert ask(child, "'still here'") == "still here"


def test_ctrl_c_at_prompt_clears_the_line(spawn):
    child = spawn()
    child.send("cleared = 42")
    child.expect_exact("cleared = 42")
    child.sendintr()
    child.expect_exact("^C")
    child.expect(PROMPT)
    assert ask(child, "cleared") == "nil"
    # in a continuation line, the whole chunk is dropped
    child.sendline("function dropped()")
    child.expect_exact(">> ")
    child.sendintr()
    child.expect(PROMPT)
    assert ask(child, "dropped") == "nil"


def test_ctrl_c_right_behind_typed_keys_always_gives_a_prompt(spawn):
    # A Ctrl-C flushes the terminal's unread input: keys the REPL saw
    # waiting can be gone when it reads them. Before the terminal was read
    # without blocking, one such race in a few left the REPL waiting for a
    # key that never came, with the ^C already taken.
    child = spawn()
    for _ in range(25):
        child.send("abandoned = 1")
        child.sendintr()
        child.expect(PROMPT)
    assert ask(child, "abandoned") == "nil"


def test_ctrl_d_exits_with_status_0(spawn):
    child = spawn()
    assert ask(child, "1") == "1"
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_d_on_a_non_empty_line_does_not_exit(spawn):
    child = spawn()
    child.send("12")
    child.expect_exact("12")
    child.send("\x01")  # to the start of the line, so ^D deletes the "1"
    child.sendeof()
    child.sendline("")
    child.expect(PROMPT)
    assert "2" in child.before
    assert child.isalive()


def test_history_is_saved_as_you_go_and_reloaded(spawn, tmp_path):
    child = spawn()
    assert ask(child, "6*7") == "42"
    child.sendline("function two()")
    child.expect_exact(">> ")
    assert ask(child, "return 2 end") == ""
    path = history_path(tmp_path)
    # written before the session ends: a killed REPL keeps its history
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    child.kill(9)
    child.close(force=True)
    entries = path.read_text().splitlines()
    assert entries[0] == "_HiStOrY_V2_"
    assert entries[1:] == ["6*7", "function\\040two()\\012return\\0402\\040end"]

    child = spawn()
    child.send("\x1b[A")  # up: the multi-line chunk comes back whole
    child.expect_exact("return 2 end")
    child.send("\x1b[A")  # up again: the previous session's first line
    child.expect_exact("6*7")
    child.sendline("")
    child.expect_exact("42")
    child.expect(PROMPT)


def test_history_goes_under_home_without_xdg_state_home(spawn, tmp_path):
    child = spawn(XDG_STATE_HOME=None)
    assert ask(child, "'saved'") == "saved"
    path = tmp_path / "home" / ".local" / "state" / "kcsh" / "history"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().splitlines()[1:] == ["'saved'"]


def test_leading_space_keeps_a_line_out_of_history(spawn, tmp_path):
    child = spawn()
    assert ask(child, " secret = 'x'") == ""
    assert ask(child, "1") == "1"
    assert history_path(tmp_path).read_text().splitlines()[1:] == ["1"]


def test_prompt_and_prompt2_are_honoured(spawn):
    child = spawn()
    child.sendline('_PROMPT = "kc$ "; _PROMPT2 = setmetatable({}, {__tostring = function() return "..| " end})')
    child.expect_exact("\r\nkc$ ")  # (at a line start: not the echo)
    child.sendline("do")
    child.expect_exact("\r\n..| ")
    child.sendline("end")
    child.expect_exact("\r\nkc$ ")
    assert ask(child, "1+1", prompt="\r\nkc$ ") == "2"


def test_tab_completes_globals_and_fields(spawn):
    child = spawn()
    # libedit redraws only what changed, so check the effect, not the screen
    child.send("stri\t")
    child.expect_exact("ng")
    child.send(".for\t")
    child.expect_exact("mat")
    assert ask(child, '("%d!", 7)') == "7!"
    child.send("\t")  # nothing before the cursor: nothing inserted
    assert ask(child, "1") == "1"


def test_colours_on_a_terminal_unless_no_color(spawn):
    child = spawn()
    child.sendline("{'s', 1}")
    child.expect(PROMPT)
    assert '{ \x1b[32m"s"\x1b[0m, \x1b[33m1\x1b[0m }' in child.before
    child = spawn(NO_COLOR="1")
    child.sendline("{'s', 1}")
    child.expect(PROMPT)
    assert '{ "s", 1 }' in child.before
    assert "\x1b[3" not in child.before


def test_long_history_is_compacted_at_start(spawn, tmp_path):
    path = history_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("_HiStOrY_V2_\n" + "".join(f"n\\040=\\040{i}\n" for i in range(2500)))
    path.chmod(0o644)
    child = spawn()
    entries = path.read_text().splitlines()
    assert entries[0] == "_HiStOrY_V2_"
    assert entries[1:] == [f"n\\040=\\040{i}" for i in range(1500, 2500)]  # the last 1000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    child.send("\x1b[A")
    child.expect_exact("n = 2499")
