"""Fixtures of the client tests (helpers are in clientlib.py)."""
import pytest

from clientlib import ClientSandbox


@pytest.fixture(scope="module")
def sandbox():
    s = ClientSandbox("--demo")
    yield s
    s.stop()


@pytest.fixture
def start_sandbox():
    started = []

    def start(*args):
        s = ClientSandbox(*args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
