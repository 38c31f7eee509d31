"""Where the binaries under test are, for every e2e directory: kcsh in
KCSH_BIN_DIR (default .build/debug), kcsh-sandbox from KCSH_SANDBOX_BIN or
beside kcsh; and the environment to run kcsh in (clean_env). (Not in
conftest.py: each e2e directory has one, and the module names would clash.)"""
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("KCSH_BIN_DIR", ROOT / ".build" / "debug"))
if not BIN_DIR.is_absolute():
    BIN_DIR = ROOT / BIN_DIR
KCSH = BIN_DIR / "kcsh"
SANDBOX_BIN = pathlib.Path(os.environ.get("KCSH_SANDBOX_BIN", BIN_DIR / "kcsh-sandbox"))


def clean_env(**extra):
    """This process's environment without what would change how kcsh runs or
    whom it talks to (KCSH_*, LUA_*, KEYCARD_API_*: a developer's KCSH_PATH,
    LUA_INIT or credentials, say), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KCSH_", "LUA_", "KEYCARD_API_"))}
    env.update(extra)
    return env
