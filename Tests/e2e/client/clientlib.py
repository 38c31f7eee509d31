"""Helpers of the client tests: kcsh talking to a real kcsh-sandbox child
over loopback (started by Tests/e2e/sandboxproc.py)."""
import subprocess

from e2epaths import BIN_DIR, KCSH, ROOT, SANDBOX_BIN, clean_env  # noqa: F401
from jsonhandler import JSONHandler  # noqa: F401 (the tests import it from here)


def kcsh(*args, env=None, timeout=60, input=None):
    assert KCSH.exists(), f"{KCSH} is not built"
    return subprocess.run([str(KCSH), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, input=input)
