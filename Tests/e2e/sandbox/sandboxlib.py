"""Helpers of the sandbox tests: start the built kcsh-sandbox on port 0 and read
its two startup lines (the contract other code relies on)."""
import os
import select
import signal
import subprocess
import time

import requests

from e2epaths import BIN_DIR, ROOT, SANDBOX_BIN  # noqa: F401 (others import them from here)


class Sandbox:
    """A running kcsh-sandbox child and a requests session that talks to it."""

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

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f:
                f.close()
        return self.proc.returncode


_counter = [0]


def unique(prefix="x"):
    _counter[0] += 1
    return f"{prefix}{os.getpid()}-{_counter[0]}-{time.time_ns() % 10**9}"


def assert_error(r, status, code=None):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) >= {"message", "code", "status"}, body
    assert body["status"] == status and isinstance(body["message"], str) and body["message"]
    if code:
        assert body["code"] == code, body
    return body
