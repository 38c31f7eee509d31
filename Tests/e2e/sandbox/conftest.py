"""Fixtures of the sandbox tests (helpers are in sandboxlib.py)."""
import pytest

from sandboxlib import unique
from sandboxproc import SandboxProc


@pytest.fixture(scope="session")
def sandbox(demo):
    """The demo sandbox of Tests/e2e/conftest.py, shared by the tests that only
    read the demo data or add data of their own."""
    return demo


@pytest.fixture
def start_sandbox():
    """Start sandboxes with given arguments; all are stopped after the test."""
    started = []

    def start(*args, **kw):
        s = SandboxProc(*args, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def org(sandbox):
    """A new organization of the shared sandbox."""
    r = sandbox.post("/organizations", json={"name": unique("Org ")})
    assert r.status_code == 201, r.text
    return r.json()
