"""Shared fixtures: where the built binaries are (KCSH_BIN_DIR, default
.build/debug), so the same tests run against debug and ASan builds."""
import pytest

from e2epaths import KCSH


@pytest.fixture(scope="session")
def kcsh_bin():
    assert KCSH.exists(), f"{KCSH} is not built"
    return str(KCSH)
