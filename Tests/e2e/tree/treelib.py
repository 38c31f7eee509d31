"""Helpers of the resource-tree tests: a runner for kcsh scripts against a
sandbox (started by the helpers of Tests/e2e/sandbox), and what the sandbox saw.
Not in conftest.py: every e2e directory has one, and the names would clash."""
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "sandbox"))

from e2epaths import clean_env  # noqa: E402
from sandboxlib import BIN_DIR, ROOT, Sandbox  # noqa: E402

KCSH = BIN_DIR / "kcsh"

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


def requests_seen(sandbox):
    """The API requests the sandbox recorded (oldest first)."""
    r = sandbox.http.get(sandbox.url("/_sandbox/requests"))
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    return items


def clear_requests(sandbox):
    assert sandbox.http.delete(sandbox.url("/_sandbox/requests")).status_code == 204
