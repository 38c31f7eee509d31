"""Fixtures of the resource-tree tests: a sandbox with a big organization
(helpers are in treelib.py; `demo` is in Tests/e2e/conftest.py)."""
import pytest

from sandboxproc import start
from treelib import SCALE_USERS


@pytest.fixture(scope="session")
def scale():
    """A sandbox whose organization 'scale' has SCALE_USERS users."""
    s = start("--scale", str(SCALE_USERS))
    yield s
    s.stop()
