"""Shared fixtures: where the built binaries are (KCSH_BIN_DIR, default
.build/debug), so the same tests run against debug and ASan builds."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("KCSH_BIN_DIR", ROOT / ".build" / "debug"))
if not BIN_DIR.is_absolute():
    BIN_DIR = ROOT / BIN_DIR


@pytest.fixture(scope="session")
def kcsh_bin():
    path = BIN_DIR / "kcsh"
    assert path.exists(), f"{path} is not built"
    return str(path)
