"""The console features of issue 13, through a pseudo-terminal against the
demo sandbox: `?` help, tables, prompt and confirmation, secret-safe history."""
import pytest

from test_repl_terminal import ANSI, PROMPT, ask, history_path, spawn  # noqa: F401 (spawn: a fixture)


def on_demo(spawn, demo, **env):
    return spawn(KEYCARD_API_BASE_URL=demo.base, KEYCARD_API_API_KEY=demo.key, **env)


def test_question_mark_and_help_without_parentheses(spawn, demo):
    child = on_demo(spawn, demo)
    assert ask(child, "org = kc.org('acme')") == ""
    expected = ask(child, "help(org.users)")
    assert "org.users:list{...}" in expected
    assert ask(child, "?org.users") == expected
    assert ask(child, "? org.users") == expected
    assert ask(child, "help org.users") == expected
    assert ask(child, "help org.users.list") == ask(child, "help(org.users.list)")
    # Ordinary Lua keeps its meaning.
    assert ask(child, "help2 = 3") == "" and ask(child, "help2") == "3"
