"""Shared fixtures: where the built binaries are (KCSH_BIN_DIR, default
.build/debug), so the same tests run against debug and ASan builds; and the
demo sandbox of the repl, sandbox and tree tests."""
import pytest

from e2epaths import KCSH


@pytest.fixture(scope="session")
def kcsh_bin():
    assert KCSH.exists(), f"{KCSH} is not built"
    return str(KCSH)


@pytest.fixture(scope="session")
def demo():
    """A sandbox with the demo organizations (acme, globex, initech), one for
    the whole run: tests that use it only read the demo data, or change data
    no other test counts on (their own organizations, globex's users, acme's
    service accounts). Started only when a test asks for it: the ASan pass
    runs no such test, and has no kcsh-sandbox."""
    from sandboxproc import start

    s = start("--demo")
    yield s
    s.stop()
