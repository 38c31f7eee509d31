"""Helpers of the client tests: kcsh talking to a real kcsh-sandbox child
over loopback (started by Tests/e2e/sandboxproc.py)."""
import subprocess
from http.server import BaseHTTPRequestHandler

from e2epaths import BIN_DIR, KCSH, ROOT, SANDBOX_BIN, clean_env  # noqa: F401


class JSONHandler(BaseHTTPRequestHandler):
    """The base of the tests' own HTTP servers' handlers: JSON answers, and no
    log line on stderr per request."""

    def send_json(self, status, body, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def kcsh(*args, env=None, timeout=60, input=None):
    assert KCSH.exists(), f"{KCSH} is not built"
    return subprocess.run([str(KCSH), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, input=input)
