"""Fixtures of the client tests (helpers are in clientlib.py); their sandboxes'
logs are not read (a pipe nobody reads could fill and stall them)."""
import subprocess

import pytest

import sandboxproc


@pytest.fixture(scope="module")
def sandbox():
    s = sandboxproc.start("--demo", stderr=subprocess.DEVNULL)
    yield s
    s.stop()


@pytest.fixture
def start_sandbox():
    started = []

    def start(*args):
        s = sandboxproc.start(*args, stderr=subprocess.DEVNULL)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
