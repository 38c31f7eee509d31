"""kcsh's own options and what differs from lua5.4 on purpose: --help,
--version, long options (exit 2), kcsh's stdlib on package.path, the program
name, `-l mod-1.2`, and stdin's exit status."""
import pathlib
import shutil
import subprocess

import pytest

from cli_helpers import SCRIPTS, clean_env, run

pytestmark = pytest.mark.asan

ROOT = pathlib.Path(__file__).resolve().parents[3]


def kcsh(kcsh_bin, args, **kw):
    return run(kcsh_bin, args, argv0="kcsh", **kw)


def help_text(kcsh_bin):
    p = kcsh(kcsh_bin, ["--help"])
    assert (p.returncode, p.stderr) == (0, b"")
    return p.stdout.decode()


def reserved_options(kcsh_bin):
    """The long options --help lists as not yet available."""
    for line in help_text(kcsh_bin).splitlines():
        if line.startswith("Reserved, not yet available: "):
            return line.split(": ", 1)[1].split(", ")
    return []


def test_help(kcsh_bin):
    text = help_text(kcsh_bin)
    assert text.startswith("usage: kcsh [options] [script [args]]\n")
    for option in ["-e stat", "-i ", "-l mod", "-l g=mod", "-v ", "-E ", "-W ", "-- ", "- ",
                   "--help", "--version", "--sandbox"]:
        assert f"\n  {option}" in text, option
    # DESIGN.md's options: each is either described or listed as reserved.
    reserved = reserved_options(kcsh_bin)
    for option in ["--profile", "--dry-run", "--trace", "--json"]:
        assert option in reserved or f"\n  {option} " in text, option
    assert "KCSH_PATH" in text and "LUA_INIT" in text


def test_help_wins_over_what_follows(kcsh_bin):
    p = kcsh(kcsh_bin, ["-e", "print('not run')", "--help", "script.lua"])
    assert p.returncode == 0 and p.stdout.startswith(b"usage: kcsh")


def test_version(kcsh_bin, lua_bin):
    p = kcsh(kcsh_bin, ["--version"])
    lua = subprocess.run([lua_bin, "-v"], capture_output=True, env=clean_env())
    assert (p.returncode, p.stderr) == (0, b"")
    first, second = p.stdout.decode().splitlines()
    assert first.startswith("kcsh ") and first[5].isdigit()
    assert second.encode() == lua.stdout.strip()


def assert_usage_error(p, message):
    assert p.returncode == 2
    assert p.stdout == b""
    err = p.stderr.decode()
    assert err.startswith(f"kcsh: {message}\nusage: kcsh [options] [script [args]]\n")


@pytest.mark.parametrize("option, message", [
    ("--frobnicate", "unrecognized option '--frobnicate'"),
    ("--Sandbox", "unrecognized option '--Sandbox'"),
    ("--sandbox=yes", "option '--sandbox' takes no argument"),
    ("--help=me", "option '--help' takes no argument"),
])
def test_bad_long_options_are_usage_errors(kcsh_bin, option, message):
    assert_usage_error(kcsh(kcsh_bin, ["-e", "print('not run')", option, "hello.lua"]), message)


def test_reserved_options_are_usage_errors(kcsh_bin):
    for option in reserved_options(kcsh_bin):
        for given in [option, option + "=x"]:
            p = kcsh(kcsh_bin, ["-e", "print('not run')", given, "hello.lua"])
            assert_usage_error(p, f"option '{option}' is not yet available")


def test_long_options_after_the_script_are_its_arguments(kcsh_bin):
    p = kcsh(kcsh_bin, ["args.lua", "--frobnicate", "--help"])
    assert p.returncode == 0
    assert b"1\t--frobnicate\n2\t--help\n" in p.stdout


def test_program_name_in_errors(kcsh_bin):
    p = kcsh(kcsh_bin, ["error_level0.lua"])
    assert p.returncode == 1
    assert p.stderr.startswith(b"kcsh: no position\nstack traceback:\n")


def test_program_name_is_argv0(kcsh_bin):
    p = run(kcsh_bin, ["-e", "error('x', 0)"], argv0="/some/where/kcsh")
    assert p.stderr.startswith(b"/some/where/kcsh: x\n")


def test_library_version_suffix(kcsh_bin, tmp_path):
    """`-l mod-v2` requires "mod-v2" into global "mod" (lua.c since 5.4.5;
    Debian's lua5.4 is 5.4.4, which would set the global "mod-v2")."""
    (tmp_path / "mod-v2.lua").write_text("return {v = 'v2'}")
    p = kcsh(kcsh_bin, ["-l", "mod-v2", "-l", "other=mod-v2", "-e",
                        "print(mod.v, other.v, rawget(_G, 'mod-v2'), rawget(_G, 'other=mod'))"],
             cwd=tmp_path)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"v2\tv2\tnil\tnil\n", b"")


def test_negative_arg_length_is_an_error_not_a_crash(kcsh_bin, tmp_path):
    # lua5.4 fails here too ("attempt to call a number value"); kcsh says why.
    (tmp_path / "s.lua").write_text("print('ran')\n")
    p = kcsh(kcsh_bin, ["-e", "setmetatable(arg, {__len = function() return -1 end})", str(tmp_path / "s.lua")])
    assert (p.returncode, p.stdout) == (1, b"")
    assert b"'arg' has a negative length (-1)" in p.stderr


def test_stdin_error_exits_1(kcsh_bin, lua_bin):
    """No script and stdin not a terminal: kcsh runs stdin as `lua5.4 -`
    does, so an error exits with 1 (plain lua5.4 exits with 0 here)."""
    p = kcsh(kcsh_bin, [], stdin="print('ran') error('from stdin')")
    assert p.returncode == 1
    assert p.stdout == b"ran\n"
    assert p.stderr.startswith(b"kcsh: stdin:1: from stdin\nstack traceback:\n")
    dash = kcsh(kcsh_bin, ["-"], stdin="print('ran') error('from stdin')")
    assert (dash.returncode, dash.stdout, dash.stderr) == (p.returncode, p.stdout, p.stderr)


def test_interactive_flag_prints_the_banner_and_runs_the_script_first(kcsh_bin, lua_bin):
    """-i implies -v and runs the script before the REPL (the REPL's own
    behaviour is tested in Tests/e2e/repl)."""
    p = kcsh(kcsh_bin, ["-i", "hello.lua"], stdin="")
    lua = subprocess.run([lua_bin, "-v", "hello.lua"], capture_output=True, cwd=SCRIPTS, env=clean_env())
    assert p.stdout.startswith(lua.stdout)


def test_no_arguments_on_a_terminal_starts_the_repl_after_the_banner(kcsh_bin, lua_bin):
    pexpect = pytest.importorskip("pexpect")
    banner = subprocess.run([lua_bin, "-v"], capture_output=True, env=clean_env()).stdout.decode().strip()
    child = pexpect.spawn(kcsh_bin, [], env=clean_env(TERM="dumb"), cwd=str(SCRIPTS), timeout=20)
    child.expect_exact(banner)
    child.expect_exact("> ")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


# kcsh's stdlib on package.path

PATH_PROBE = "print(package.path)"


def package_path(kcsh_bin, env, args=(), **kw):
    p = run(kcsh_bin, [*args, "-e", PATH_PROBE], env=env, **kw)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode().strip()


def test_kcsh_path_is_appended_after_lua_path(kcsh_bin, tmp_path):
    (tmp_path / "kcshmod.lua").write_text("return 'from KCSH_PATH'")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "init.lua").write_text("return 'init from KCSH_PATH'")
    env = clean_env(KCSH_PATH=str(tmp_path), LUA_PATH="/user/?.lua;;")
    path = package_path(kcsh_bin, env)
    assert path.startswith("/user/?.lua;")
    assert path.endswith(f";{tmp_path}/?.lua;{tmp_path}/?/init.lua")
    p = run(kcsh_bin, ["-e", "print((require 'kcshmod'), (require 'pkg'))"], env=env)
    assert p.stdout == b"from KCSH_PATH\tinit from KCSH_PATH\n"


def test_user_modules_win_over_kcsh_modules(kcsh_bin, tmp_path):
    (tmp_path / "kcsh").mkdir()
    (tmp_path / "user").mkdir()
    (tmp_path / "kcsh" / "same.lua").write_text("return 'kcsh'")
    (tmp_path / "user" / "same.lua").write_text("return 'user'")
    env = clean_env(KCSH_PATH=str(tmp_path / "kcsh"), LUA_PATH=f"{tmp_path}/user/?.lua;;")
    assert run(kcsh_bin, ["-e", "print((require 'same'))"], env=env).stdout == b"user\n"


def test_build_tree_stdlib(kcsh_bin):
    """From a build directory inside the repository: <repo>/stdlib."""
    env = clean_env()
    del env["KCSH_PATH"]
    stdlib = ROOT / "stdlib"
    assert package_path(kcsh_bin, env).endswith(f";{stdlib}/?.lua;{stdlib}/?/init.lua")


def test_installed_stdlib(kcsh_bin, tmp_path):
    """Installed: <bindir>/../share/kcsh/stdlib."""
    (tmp_path / "bin").mkdir()
    shutil.copy2(kcsh_bin, tmp_path / "bin" / "kcsh")
    stdlib = tmp_path / "share" / "kcsh" / "stdlib"
    (stdlib / "kc").mkdir(parents=True)
    (stdlib / "kc" / "hello.lua").write_text("return 'installed module'")
    env = clean_env()
    del env["KCSH_PATH"]
    p = run(str(tmp_path / "bin" / "kcsh"), ["-e", "print(require 'kc.hello')"], env=env)
    assert p.returncode == 0
    assert p.stdout == f"installed module\t{stdlib}/kc/hello.lua\n".encode()


def test_minus_E_ignores_kcsh_path(kcsh_bin, tmp_path):
    env = clean_env(KCSH_PATH=str(tmp_path), LUA_PATH="/user/?.lua;;")
    path = package_path(kcsh_bin, env, ["-E"])
    assert str(tmp_path) not in path and "/user/" not in path
    assert path.endswith(f";{ROOT / 'stdlib'}/?.lua;{ROOT / 'stdlib'}/?/init.lua")


def test_kcsh_modules_visible_to_lua_init(kcsh_bin, tmp_path):
    (tmp_path / "early.lua").write_text("return 'loaded by LUA_INIT'")
    env = clean_env(KCSH_PATH=str(tmp_path), LUA_INIT="EARLY = require 'early'")
    assert run(kcsh_bin, ["-e", "print(EARLY)"], env=env).stdout == b"loaded by LUA_INIT\n"


def test_kc_without_its_stdlib_says_why(kcsh_bin, tmp_path):
    """A kcsh whose stdlib cannot be found explains itself when kc is used,
    before any request (the base URL points nowhere)."""
    env = clean_env(KCSH_PATH=str(tmp_path), KEYCARD_API_API_KEY="k",
                    KEYCARD_API_BASE_URL="http://127.0.0.1:9")
    for code in ["kc.org('acme')", "kc.organizations:list()"]:
        p = run(kcsh_bin, ["-e", code], env=env)
        assert p.returncode == 1
        assert b"kc's resource tree (kc/init.lua) is not on package.path: set KCSH_PATH" in p.stderr
