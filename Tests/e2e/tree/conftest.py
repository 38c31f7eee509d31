"""Fixtures of the resource-tree tests: a sandbox with a big organization
(helpers are in treelib.py; `demo` is in Tests/e2e/conftest.py)."""
import pytest

from treelib import SCALE_USERS, Sandbox


@pytest.fixture(scope="session")
def scale():
    """A sandbox whose organization 'scale' has SCALE_USERS users."""
    s = Sandbox("--port", "0", "--scale", str(SCALE_USERS), "--exit-with-stdin")
    yield s
    s.stop()
