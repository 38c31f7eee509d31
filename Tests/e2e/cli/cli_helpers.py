"""Helpers for the CLI tests: run lua5.4 and kcsh the same way and compare.
(Not in conftest.py: Tests/e2e has several, and `import conftest` finds
whichever was loaded last.)

Both run with argv[0] set to the same name, so the program name in messages
("lua5.4:" against "kcsh:") and in the `arg` table is the same; the only other
difference allowed is kcsh's stdlib directory, which is on package.path and so
appears in "module not found" messages: lines naming it are dropped."""
import pathlib
import shutil
import subprocess

import pytest

import e2epaths

HERE = pathlib.Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
LUA = shutil.which("lua5.4")
# Where kcsh looks for its modules in these runs: a directory that does not
# exist, so that only its name can differ from lua5.4's output.
KCSH_PATH = "/nonexistent/kcsh-stdlib"
PROG = "PROG"


def clean_env(**extra):
    """The shared clean environment, with KCSH_PATH set to KCSH_PATH."""
    return e2epaths.clean_env(**{"KCSH_PATH": KCSH_PATH, **extra})


def run(binary, args, stdin=None, env=None, cwd=SCRIPTS, argv0=PROG, timeout=60):
    """Runs binary with argv[0] = argv0; args may be str or bytes."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    p = subprocess.run([argv0, *args], executable=binary, input=stdin if stdin is not None else b"",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env if env is not None else clean_env(), cwd=cwd, timeout=timeout)
    return p


def normalise(stderr: bytes) -> bytes:
    lines = stderr.split(b"\n")
    drop = (KCSH_PATH.encode(), b"/stdlib/?.lua", b"/stdlib/?/init.lua")
    return b"\n".join(l for l in lines if not any(d in l for d in drop))


@pytest.fixture(scope="session")
def lua_bin():
    """lua5.4, the yardstick."""
    if LUA is None:
        pytest.skip("lua5.4 is not installed (scripts/bootstrap --test)")
    return LUA


@pytest.fixture
def both(kcsh_bin, lua_bin):
    """Runs the same command line under lua5.4 and kcsh, returns both."""
    def go(args, **kw):
        return run(lua_bin, args, **kw), run(kcsh_bin, args, **kw)
    return go


def assert_same(lua, kcsh):
    assert kcsh.stdout == lua.stdout
    assert normalise(kcsh.stderr) == normalise(lua.stderr)
    assert kcsh.returncode == lua.returncode
