"""Helpers of the resource-tree tests: a runner for kcsh scripts against a
sandbox (started by Tests/e2e/sandboxproc.py).
Not in conftest.py: every e2e directory has one, and the names would clash."""
import functools
import json
import pathlib
import subprocess

from e2epaths import KCSH, ROOT, clean_env  # noqa: F401 (others import them from here)

HERE = pathlib.Path(__file__).resolve().parent

# Users in the --scale organization of the paging tests: thousands, so page
# size 1 still makes a few thousand requests.
SCALE_USERS = 2500


class Run:
    """The outcome of one kcsh run."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.lines = proc.stdout.splitlines()


def kcsh(script, sandbox=None, args=(), env=None, timeout=120, repl=False):
    """Runs `script` (Lua source) with kcsh against `sandbox` (none: no
    credentials at all). With `repl`, `script` is typed into the REPL
    (`kcsh -i`) instead, and stderr goes to stdout, in the order printed, as
    on a terminal. kcsh is run under the name `kcsh`, as the docs show it."""
    assert KCSH.exists(), f"{KCSH} is not built"
    e = clean_env(XDG_CONFIG_HOME=str(HERE / "no-config"))
    if sandbox is not None:
        e["KEYCARD_API_BASE_URL"] = sandbox.base
        e["KEYCARD_API_API_KEY"] = sandbox.key
    e.update(env or {})
    proc = subprocess.run(
        ["kcsh", *args, "-i" if repl else "-"], executable=KCSH, input=script, text=True, timeout=timeout,
        env=e, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT if repl else subprocess.PIPE)
    return Run(proc)


def ok(script, sandbox=None, **kw):
    """Runs `script` and asserts it succeeded; returns its stdout lines."""
    r = kcsh(script, sandbox, **kw)
    assert r.rc == 0, f"kcsh failed ({r.rc}):\n{r.err}\n--- stdout:\n{r.out}"
    return r.lines


@functools.cache
def api_description():
    """stdlib/kc/api.lua as data (scripts/api-json.lua): the tests' one list
    of resources, operations and parameters."""
    proc = subprocess.run([str(KCSH), "scripts/api-json.lua"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def api_operations():
    """Every operation of api.lua, with its resource's name as `resource`."""
    return [dict(op, resource=r["name"]) for r in api_description()["resources"] for op in r["operations"]]
