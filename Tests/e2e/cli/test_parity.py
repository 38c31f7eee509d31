"""kcsh runs Lua scripts exactly like lua5.4: the same command line under
both, compared on stdout, stderr and exit status (see conftest.py)."""
import pytest

from cli_helpers import SCRIPTS, assert_same, clean_env

pytestmark = pytest.mark.asan

# Helpers that other scripts load, or that need a signal (test_interrupt).
NOT_SCRIPTS = {"init_file.lua", "loop.lua"}
SCRIPT_NAMES = sorted(p.name for p in SCRIPTS.glob("*.lua")
                      if not p.name.startswith("mod_") and p.name not in NOT_SCRIPTS)


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script(both, name):
    """Every script, with arguments (one of them empty) and some stdin."""
    assert_same(*both([name, "one", "two words", ""], stdin="first\nsecond\n"))


def test_enough_scripts():
    assert len(SCRIPT_NAMES) >= 30


INIT = "INIT_RAN = 'LUA_INIT'"
CASES = {
    # -e, joined or not, several, in order with -l
    "e": (["-e", "print(1 + 1)"], {}),
    "e-joined": (["-eprint('joined')"], {}),
    "e-twice-ordered": (["-e", "x = 1", "-e", "print(x + 1)"], {}),
    "e-then-script": (["-e", "GLOBAL = 'from -e'", "-e", "print(GLOBAL)", "args.lua", "x"], {}),
    "e-error-stops": (["-e", "error('in -e')", "hello.lua"], {}),
    "e-syntax-error": (["-e", "print(("], {}),
    "e-missing": (["-e"], {}),
    "e-then-option": (["-e", "-v"], {}),
    "e-no-script-no-stdin": (["-e", "print(io.read('a'))"], {}),
    "e-with-arg": (["-e", "print(arg[0], arg[1], arg[2], #arg)"], {}),
    # -l: mod, g=mod, joined, errors
    "l": (["-l", "mod_greet", "-e", "print(mod_greet.hello('l'))"], {}),
    "l-joined": (["-lmod_greet", "-e", "print(mod_greet.hello('joined'))"], {}),
    "l-global": (["-l", "g=mod_greet", "-e", "print(g.hello('g'), mod_greet)"], {}),
    "l-stdlib-module": (["-l", "s=string", "-e", "print(s.upper('x'))"], {}),
    "l-missing-module": (["-l", "no_such_module"], {}),
    "l-broken-module": (["-l", "mod_broken", "hello.lua"], {}),
    "l-missing-arg": (["-l"], {}),
    "l-then-e-order": (["-e", "print(mod_greet)", "-l", "mod_greet", "-e", "print(type(mod_greet))"], {}),
    # -v, -i's relatives, -E, -W
    "v": (["-v"], {}),
    "v-script": (["-v", "hello.lua"], {}),
    "v-e": (["-v", "-e", "print('after version')"], {}),
    "v-extra": (["-vx"], {}),
    "E-extra": (["-Ex"], {}),
    "W-extra": (["-Wall"], {}),
    "i-extra": (["-ix"], {}),
    "W": (["-W", "warnings.lua"], {}),
    "W-e": (["-W", "-e", "warn('on from the start')"], {}),
    "W-after-script-name": (["warnings.lua", "-W"], {}),
    "E-ignores-init": (["-E", "init_probe.lua"], {"LUA_INIT": INIT}),
    "E-ignores-lua-path": (["-E", "init_probe.lua"], {"LUA_PATH": "MARKER/?.lua;;"}),
    "lua-path": (["init_probe.lua"], {"LUA_PATH": "MARKER/?.lua;;"}),
    "lua-path-5-4": (["init_probe.lua"], {"LUA_PATH_5_4": "MARKER/?.lua;;", "LUA_PATH": "x"}),
    # unknown options
    "unknown": (["-x"], {}),
    "unknown-after-e": (["-e", "print(1)", "-z", "hello.lua"], {}),
    "triple-dash": (["---"], {}),
    "option-after-script": (["args.lua", "-x", "--", "-e", "y"], {}),
    # --, - and stdin
    "dashdash": (["--", "args.lua", "-e", "x"], {}),
    "dashdash-end": (["-e", "print('only e')", "--"], {}),
    "stdin-dash": (["-", "a", "b"], {}),
    "stdin-dash-after-options": (["-e", "x = 5", "-", "a"], {}),
    "stdin-shebang": (["-"], {}),
    "missing-script": (["no_such_script.lua"], {}),
    "script-is-directory": ([".."], {}),
    # LUA_INIT variants
    "init": (["init_probe.lua"], {"LUA_INIT": INIT}),
    "init-5-4-first": (["init_probe.lua"], {"LUA_INIT_5_4": "INIT_RAN = '5_4'", "LUA_INIT": INIT}),
    "init-file": (["init_probe.lua"], {"LUA_INIT": "@init_file.lua"}),
    "init-5-4-file": (["init_probe.lua"], {"LUA_INIT_5_4": "@init_file.lua"}),
    "init-missing-file": (["init_probe.lua"], {"LUA_INIT": "@no_such_file.lua"}),
    "init-syntax-error": (["init_probe.lua"], {"LUA_INIT": "x = = 1"}),
    "init-5-4-error": (["init_probe.lua"], {"LUA_INIT_5_4": "error('init failed')"}),
    "init-runs-before-e": (["-e", "print(INIT_RAN)"], {"LUA_INIT": INIT}),
    "init-sees-arg": (["args.lua", "z"], {"LUA_INIT": "print('init sees', arg[0], arg[1])"}),
    "init-breaks-arg": (["args.lua"], {"LUA_INIT": "arg = 5"}),
    "init-empty": (["init_probe.lua"], {"LUA_INIT": ""}),
    "init-with-e-sets-global": (["-lmod_greet", "-e", "print(INIT_RAN)"], {"LUA_INIT": INIT}),
    # what LUA_INIT can do to the globals -l and the script use
    "init-read-only-globals": (["-l", "mod_greet", "args.lua"],
                               {"LUA_INIT": "setmetatable(_G, {__newindex = function() error('read-only') end})"}),
    "init-arg-len": (["args.lua", "a"], {"LUA_INIT": "arg = setmetatable({'x'}, {__len = function() return 2 end})"}),
    "init-arg-len-fails": (["args.lua"], {"LUA_INIT": "arg = setmetatable({}, {__len = function() error('len') end})"}),
    "init-arg-len-float": (["args.lua"], {"LUA_INIT": "arg = setmetatable({}, {__len = function() return 1.5 end})"}),
    "init-arg-replaced": (["args.lua", "a"], {"LUA_INIT": "arg = {'x', 'y'}"}),
    "init-no-require": (["-l", "mod_greet"], {"LUA_INIT": "require = nil"}),
}

STDIN = {
    "stdin-dash": "print('from stdin', ...)\nprint(arg[0], arg[-1])\n",
    "stdin-dash-after-options": "print('x is', x, ...)\n",
    "stdin-shebang": "#!/usr/bin/lua5.4\nprint('shebang on stdin')\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_command_line(both, case):
    args, env = CASES[case]
    assert_same(*both(args, env=clean_env(**env), stdin=STDIN.get(case, "")))


def test_at_least_30_command_lines():
    assert len(CASES) >= 30


def test_file_named_dash(both, tmp_path):
    """After "--", "-" is a file name, not stdin."""
    (tmp_path / "-").write_text("print('a file named dash', ...)\n")
    assert_same(*both(["--", "-", "x"], cwd=tmp_path, stdin="print('stdin: wrong')"))


def test_stdin_not_a_terminal(both):
    """No script, no -e and stdin not a terminal: stdin runs as a file."""
    assert_same(*both([], stdin="print('piped', ...)\nprint(#arg, arg[0])\n"))


def test_raw_bytes_in_arguments(both):
    """Arguments are bytes, not necessarily UTF-8."""
    assert_same(*both([b"binary_output.lua", b"\xff\xfe\x00"[:2], b"caf\xc3\xa9"]))


def test_raw_bytes_in_e(both):
    assert_same(*both([b"-e", b"print(#'\xff\xfe')"]))


def test_many_arguments(both):
    assert_same(*both(["args.lua"] + [str(i) for i in range(5000)]))


def _interrupted(binary):
    import signal
    import subprocess
    import time
    from cli_helpers import PROG
    p = subprocess.Popen([PROG, "loop.lua"], executable=binary, cwd=SCRIPTS, env=clean_env(),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"looping\n"
    time.sleep(1)  # into the loop, past the flush (the traceback would differ), even under ASan
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    return subprocess.CompletedProcess(p.args, p.returncode, b"looping\n" + out, err)


def test_ctrl_c_interrupts_a_script(kcsh_bin, lua_bin):
    """SIGINT while a chunk runs raises "interrupted!" from a hook."""
    lua, kcsh = _interrupted(lua_bin), _interrupted(kcsh_bin)
    assert b"interrupted!" in kcsh.stderr
    assert_same(lua, kcsh)
