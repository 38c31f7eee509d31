"""Helpers of the client tests: kcsh talking to a real kcsh-sandbox child
over loopback (KCSH_SANDBOX_BIN, else the kcsh-sandbox next to kcsh)."""
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, str(os.path.join(os.path.dirname(__file__), "..", "sandbox")))

from e2epaths import BIN_DIR, KCSH, ROOT, SANDBOX_BIN, clean_env  # noqa: E402,F401
from sandboxlib import Sandbox  # noqa: E402


class ClientSandbox(Sandbox):
    """A kcsh-sandbox child, its URL and key, and its /_sandbox controls."""

    def __init__(self, *args):
        # Its log is not read here: a pipe nobody reads could fill and stall it.
        super().__init__("--port", "0", "--exit-with-stdin", *args, stderr=subprocess.DEVNULL)

    def faults(self, spec, seed=1):
        r = self.http.put(self.base + "/_sandbox/faults", json={"spec": spec, "seed": seed})
        assert r.status_code == 200, r.text

    def clear_requests(self):
        self.http.delete(self.base + "/_sandbox/requests")

    def requests(self):
        return self.http.get(self.base + "/_sandbox/requests").json()["items"]

    def env(self, **extra):
        """kcsh's environment for this sandbox, with no other credentials."""
        env = clean_env(KEYCARD_API_BASE_URL=self.base, KEYCARD_API_API_KEY=self.key,
                        XDG_CONFIG_HOME="/nonexistent")
        env.update(extra)
        return env

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


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
