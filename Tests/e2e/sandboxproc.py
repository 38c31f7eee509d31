"""The one way the e2e tests start kcsh-sandbox (SANDBOX_BIN): a child whose
two startup lines (the contract other code relies on) are read and checked,
with a requests session for its API and helpers for its /_sandbox controls.
(Not in conftest.py: each e2e directory has one, and the module names would
clash.)"""
import os
import select
import signal
import subprocess
import time

import requests

from e2epaths import SANDBOX_BIN, clean_env


class SandboxProc:
    """A running kcsh-sandbox child started with exactly `args`."""

    def __init__(self, *args, stdin=subprocess.PIPE, stderr=subprocess.PIPE):
        assert SANDBOX_BIN.exists(), f"{SANDBOX_BIN} is not built"
        self.args = list(args)
        self.proc = subprocess.Popen(
            [str(SANDBOX_BIN), *args], stdin=stdin, stdout=subprocess.PIPE,
            stderr=stderr, bufsize=0)
        self._buf = b""
        self.lines = [self._readline(), self._readline()]
        assert self.lines[0].startswith("KEYCARD_API_BASE_URL=http://127.0.0.1:"), self.lines
        assert self.lines[1].startswith("KEYCARD_API_API_KEY="), self.lines
        self.base = self.lines[0].split("=", 1)[1]
        self.key = self.lines[1].split("=", 1)[1]
        self.port = int(self.base.rsplit(":", 1)[1])
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.key}"

    def _readline(self, timeout=60):
        # Unbuffered reads: a buffered reader would swallow the second line and
        # leave select() waiting for bytes that already arrived.
        deadline = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            if time.time() > deadline:
                raise TimeoutError("kcsh-sandbox printed no startup line")
            ready, _, _ = select.select([fd], [], [], 0.2)
            chunk = os.read(fd, 4096) if ready else b""
            if ready and not chunk or self.proc.poll() is not None and not chunk:
                why = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"kcsh-sandbox exited {self.proc.poll()}: {why}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def url(self, path):
        return self.base + path

    def get(self, path, **kw):
        return self.http.get(self.url(path), **kw)

    def post(self, path, json=None, **kw):
        return self.http.post(self.url(path), json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.http.patch(self.url(path), json=json, **kw)

    def delete(self, path, **kw):
        return self.http.delete(self.url(path), **kw)

    def faults(self, spec, seed=1):
        r = self.http.put(self.url("/_sandbox/faults"), json={"spec": spec, "seed": seed})
        assert r.status_code == 200, r.text

    def clear_requests(self):
        assert self.delete("/_sandbox/requests").status_code == 204

    def requests(self):
        """The API requests it recorded (oldest first)."""
        r = self.get("/_sandbox/requests")
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def env(self, **extra):
        """kcsh's environment for this sandbox, with no other credentials."""
        env = clean_env(KEYCARD_API_BASE_URL=self.base, KEYCARD_API_API_KEY=self.key,
                        XDG_CONFIG_HOME="/nonexistent")
        env.update(extra)
        return env

    def stop(self, sig=None):
        """Stops it with `sig`; by default as kcsh stops its own, by closing
        its stdin, if it was started with --exit-with-stdin, else SIGTERM."""
        if self.proc.poll() is None:
            if sig is None and "--exit-with-stdin" in self.args and self.proc.stdin:
                self.proc.stdin.close()
            else:
                self.proc.send_signal(sig or signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f:
                f.close()
        return self.proc.returncode


def start(*args, stderr=subprocess.PIPE):
    """A sandbox as the tests' fixtures use one: on a free port, stopping when
    its stdin closes (so it goes with the test run), plus `args`."""
    return SandboxProc("--port", "0", "--exit-with-stdin", *args, stderr=stderr)
