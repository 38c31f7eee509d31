"""The CLI tests' fixtures, defined in cli_helpers.py."""
from cli_helpers import both, lua_bin  # noqa: F401 (fixtures)
