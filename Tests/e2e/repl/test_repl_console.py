"""The console features of issue 13, through a pseudo-terminal against the
demo sandbox: `?` help, tables, prompt and confirmation, secret-safe history."""
import pexpect
import pytest

from test_repl_terminal import ANSI, PROMPT, TIMEOUT, ask, environment, history_path, spawn  # noqa: F401


def on_demo(spawn, demo, **env):
    return spawn(KEYCARD_API_BASE_URL=demo.base, KEYCARD_API_API_KEY=demo.key, **env)


@pytest.fixture
def sized(kcsh_bin, tmp_path, demo):
    """kcsh on the demo sandbox, on a terminal of the given size."""
    (tmp_path / "home").mkdir(exist_ok=True)
    children = []

    def start(rows, cols, **env):
        child = pexpect.spawn(
            kcsh_bin, [], env=environment(tmp_path, KEYCARD_API_BASE_URL=demo.base,
                                          KEYCARD_API_API_KEY=demo.key, **env),
            encoding="utf-8", timeout=TIMEOUT, dimensions=(rows, cols))
        children.append(child)
        child.expect_exact("> ")
        return child

    yield start
    for child in children:
        child.close(force=True)


def raw(child, line):
    """What a line prints, escapes kept (the echo dropped)."""
    child.sendline(line)
    child.expect(PROMPT)
    text = child.before.replace("\r\n", "\n")
    return text.split("\n", 1)[1] if "\n" in text else ""


def test_a_page_prints_as_a_table(sized):
    child = sized(24, 120, NO_COLOR="1")
    assert ask(child, "org = kc.org('acme')") == ""
    lines = ask(child, "org.users:list{limit = 5}").splitlines()
    assert lines[0].split() == ["email", "role", "status", "id"]
    assert len(lines) == 7 and lines[-1] == "… more pages"
    assert lines[1].split()[0] == "ana@acme.com" and lines[1].split()[1] == "org_admin"
    # aligned: every column starts where its header does
    at = lines[0].index("role")
    assert all(line[at - 2:at] == "  " and line[at] != " " for line in lines[1:6])
    assert "\x1b[" not in raw(child, "org.users:list{limit = 5}")
    # tostring stays the one-line form
    assert ask(child, "tostring(org)").startswith("org ") and " acme " in ask(child, "tostring(org)")


def test_lists_iterators_and_records(sized):
    child = sized(20, 120, NO_COLOR="1")
    assert ask(child, "org = kc.org('acme')") == ""
    lines = ask(child, "org.users:each():take(3):collect()").splitlines()
    assert lines[0].split() == ["email", "role", "status", "id"] and len(lines) == 4
    # an iterator: a screenful (20 rows - 4), then more
    lines = ask(child, "org.users:each()").splitlines()
    assert lines[0].split()[0] == "email" and len(lines) == 1 + 16 + 1 and lines[-1] == "… more"
    # a list of plain rows: their keys as columns
    lines = ask(child, "org:roles{scope = 'organization'}").splitlines()
    assert lines[0].split() == ["description", "label", "name", "scope"]
    # one record: field  value lines, in the description's order
    lines = ask(child, "org").splitlines()
    assert lines[0].split()[0] == "id" and ["label", "acme"] in [l.split() for l in lines]
    assert ask(child, "{1, 2}") == "{ 1, 2 }"  # other tables as before


def test_narrow_terminal_cuts_values(sized):
    child = sized(24, 40, NO_COLOR="1")
    assert ask(child, "org = kc.org('acme')") == ""
    lines = ask(child, "org.users:list{limit = 3}").splitlines()
    assert all(len(line) <= 40 for line in lines), lines
    assert any("…" in line for line in lines[1:4])


def test_colour_for_roles_and_statuses(sized):
    child = sized(24, 120)
    assert ask(child, "org = kc.org('acme')") == ""
    out = raw(child, "org.users:list{limit = 3}")
    assert "\x1b[1;35morg_admin\x1b[0m" in out and "\x1b[32mactive\x1b[0m" in out


def test_kc_table_for_scripts(kcsh_bin, demo):
    import subprocess
    code = ("local org = kc.org('acme'); print(kc.table(org.users:list{limit = 2}, {columns = {'email', 'role'}}));"
            "print(kc.table({{a = 1, b = 'x'}, {a = 22}}))")
    r = subprocess.run([kcsh_bin, "-e", code], capture_output=True, text=True, timeout=30,
                       env={"PATH": "/usr/bin:/bin", "KEYCARD_API_BASE_URL": demo.base,
                            "KEYCARD_API_API_KEY": demo.key, "HOME": "/nonexistent"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "email         role", "ana@acme.com  org_admin", "ben@acme.com  org_member", "… more pages",
        "a   b", "1   x", "22"]


def test_history_holds_no_secret_and_the_redacted_line_comes_back(spawn, demo, tmp_path):
    child = on_demo(spawn, demo)
    secret = "hunter2-very-secret-value"
    key = "kcsb_" + "A" * 43
    assert ask(child, f"x = {{client_secret = '{secret}', name = 'n'}}") == ""
    assert ask(child, f"k = \"{key}\"") == ""
    text = history_path(tmp_path).read_text()
    assert secret not in text and key not in text
    assert "client_secret\\040=\\040'<redacted>'" in text and "<redacted>" in text.splitlines()[-1]
    child.send("\x1b[A\x1b[A")  # up twice: the redacted line, to edit
    child.expect_exact("client_secret = '<redacted>', name = 'n'}")
    child.sendcontrol("u")
    assert ask(child, "1") == "1"


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


def profile_home(tmp_path, demo, name, extra=""):
    config = tmp_path / "config" / "kcsh"
    config.mkdir(parents=True, exist_ok=True)
    path = config / "config.toml"
    path.write_text(f'[profiles.{name}]\nbase_url = "{demo.base}"\napi_key = "{demo.key}"\n{extra}')
    path.chmod(0o600)
    return str(tmp_path / "config")


def test_prompt_names_the_target(spawn, demo, tmp_path):
    child = spawn(XDG_CONFIG_HOME=str(tmp_path / "none"), prompt="kcsh(sandbox)> ")
    assert ask(child, "1") == "1"
    child = spawn("--profile", "prod", XDG_CONFIG_HOME=profile_home(tmp_path, demo, "prod"), prompt="kcsh(prod)> ")
    assert ask(child, "kc.org('acme').label") == "acme"
    child = on_demo(spawn, demo, prompt="kcsh> ")
    child.sendline('_PROMPT = "mine$ "')
    child.expect_exact("\r\nmine$ ")


def test_sandbox_flag_prompt(spawn, tmp_path):
    child = spawn("--sandbox", prompt="kcsh(sandbox)> ")
    assert ask(child, "kc.org('acme').label") == "acme"


def test_confirm_writes_on_a_marked_profile(spawn, demo, tmp_path):
    home = profile_home(tmp_path, demo, "prod", "confirm_writes = true\n")
    child = spawn("--profile", "prod", XDG_CONFIG_HOME=home, prompt="kcsh(prod)> ")
    assert ask(child, "org = kc.org('globex'); u = org.users:each():filter(function(u) return u.role ~= 'org_viewer' end):first()") == ""
    email = ask(child, "u.email")
    child.sendline("u:delete()")
    child.expect_exact(f"delete user {email} in globex? [y/N] ")
    child.sendline("n")
    child.expect(PROMPT)
    assert "not sent" in child.before
    assert ask(child, "org.users:get(u.id).email") == email  # still there
    child.sendline("u:update{role = 'org_viewer'}")
    child.expect_exact(f'update user {email} in globex (role = "org_viewer")? [y/N] ')
    child.sendline("y")
    child.expect(PROMPT)
    assert ask(child, "org.users:get(u.id).role") == "org_viewer"
    # reads never ask
    assert ask(child, "#org.users:list{limit = 2}") == "2"


def test_scripts_do_not_confirm_unless_they_opt_in(kcsh_bin, demo, tmp_path):
    import subprocess
    home = profile_home(tmp_path, demo, "prod", "confirm_writes = true\n")
    env = {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": home, "HOME": str(tmp_path)}
    code = "local inv = kc.org('globex').invitations:create{email = 'script@globex.test', role = 'org_member'}; print(inv.email)"
    r = subprocess.run([kcsh_bin, "--profile", "prod", "-e", code], env=env, input="", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == "script@globex.test\n", r.stderr
    code = "kc.confirm_writes(true); " + code.replace("script@", "script2@")
    r = subprocess.run([kcsh_bin, "--profile", "prod", "-e", code], env=env, input="n\n", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "create invitation script2@globex.test in globex? [y/N]" in r.stdout
    assert "not sent" in r.stderr
