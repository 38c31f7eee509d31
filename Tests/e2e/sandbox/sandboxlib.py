"""Helpers of the sandbox tests (the sandbox itself is started by
Tests/e2e/sandboxproc.py)."""
import os
import time

from e2epaths import ROOT  # noqa: F401 (others import it from here)


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
