"""Fixtures of the resource-tree tests: sandboxes with demo data and with a
big organization (helpers are in treelib.py)."""
import pytest

from treelib import SCALE_USERS, Sandbox


@pytest.fixture(scope="session")
def demo():
    """A sandbox with the demo organizations (acme, globex, initech)."""
    s = Sandbox("--port", "0", "--demo", "--exit-with-stdin")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def scale():
    """A sandbox whose organization 'scale' has SCALE_USERS users."""
    s = Sandbox("--port", "0", "--scale", str(SCALE_USERS), "--exit-with-stdin")
    yield s
    s.stop()
