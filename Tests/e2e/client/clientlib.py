"""Helpers of the client tests: kcsh talking to a real kcsh-sandbox child
over loopback (KCSH_SANDBOX_BIN, else the kcsh-sandbox next to kcsh)."""
import os
import pathlib
import select
import subprocess
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[3]
BIN_DIR = pathlib.Path(os.environ.get("KCSH_BIN_DIR", ROOT / ".build" / "debug"))
if not BIN_DIR.is_absolute():
    BIN_DIR = ROOT / BIN_DIR
KCSH = BIN_DIR / "kcsh"
SANDBOX_BIN = pathlib.Path(os.environ.get("KCSH_SANDBOX_BIN", BIN_DIR / "kcsh-sandbox"))


class ClientSandbox:
    """A kcsh-sandbox child, its URL and key, and its /_sandbox controls."""

    def __init__(self, *args):
        if not SANDBOX_BIN.exists():
            pytest.skip(f"no kcsh-sandbox at {SANDBOX_BIN}")
        self.proc = subprocess.Popen(
            [str(SANDBOX_BIN), "--port", "0", "--exit-with-stdin", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        out, deadline = b"", time.time() + 60
        while out.count(b"\n") < 2:
            assert time.time() < deadline, "kcsh-sandbox did not start"
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                assert chunk, "kcsh-sandbox exited"
                out += chunk
        lines = dict(l.split("=", 1) for l in out.decode().splitlines() if "=" in l)
        self.base = lines["KEYCARD_API_BASE_URL"]
        self.key = lines["KEYCARD_API_API_KEY"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.key}"

    def faults(self, spec, seed=1):
        r = self.http.put(self.base + "/_sandbox/faults", json={"spec": spec, "seed": seed})
        assert r.status_code == 200, r.text

    def clear_requests(self):
        self.http.delete(self.base + "/_sandbox/requests")

    def requests(self):
        return self.http.get(self.base + "/_sandbox/requests").json()["items"]

    def env(self, **extra):
        """kcsh's environment for this sandbox, with no other credentials."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYCARD_API_", "KCSH_"))}
        env.update(KEYCARD_API_BASE_URL=self.base, KEYCARD_API_API_KEY=self.key,
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


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYCARD_API_", "KCSH_"))}
    env.update(extra)
    return env


def kcsh(*args, env=None, timeout=60, input=None):
    assert KCSH.exists(), f"{KCSH} is not built"
    return subprocess.run([str(KCSH), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, input=input)
