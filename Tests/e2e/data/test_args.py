"""kc.args: a script's declared options parsed, its --help generated from the
declaration, and usage errors that name the bad option and exit 2."""
import subprocess

import pytest

from e2epaths import KCSH, ROOT, clean_env

pytestmark = pytest.mark.asan

SCRIPT = '''
local opts = kc.args{
  description = "Invite each row of a CSV file.",
  {"org", required = true, help = "organization label or id"},
  {"role", default = "org_member", enum = {"org_admin", "org_member", "org_viewer"}},
  {"concurrency", type = "integer", default = 8, help = "requests in flight"},
  {"rate", type = "number"},
  {"dry-run", type = "boolean", help = "plan only"},
  {"progress", type = "boolean", default = true},
  {"tag", type = "list"},
  {"file", positional = true, required = true, help = "CSV file with an email column"},
}
print(opts.org, opts.role, opts.concurrency, opts.rate, opts.dry_run, opts.progress,
  opts.tag and table.concat(opts.tag, "+"), opts.file)
'''


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    p = tmp_path_factory.mktemp("args") / "invite.lua"
    p.write_text(SCRIPT)
    return p


def run(script, *args):
    return subprocess.run([str(KCSH), str(script), *args], capture_output=True, text=True, env=clean_env(),
                          cwd=ROOT, timeout=60)


def test_parsed_values(script):
    r = run(script, "--org", "acme", "people.csv", "--tag", "a", "--tag=b", "--dry-run", "--no-progress",
            "--concurrency=16", "--rate", "2.5")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "acme\torg_member\t16\t2.5\ttrue\tfalse\ta+b\tpeople.csv\n"
    r = run(script, "--org", "acme", "--", "-odd.csv")
    assert r.stdout == "acme\torg_member\t8\tnil\tfalse\ttrue\tnil\t-odd.csv\n", r.stderr


def test_help_is_made_from_the_declaration(script):
    r = run(script, "--help")
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == ("usage: invite --org ORG [--role ROLE] [--concurrency N] [--rate N] [--dry-run] [--progress]"
                        " [--tag TAG]... FILE")
    assert "Invite each row of a CSV file." in lines
    assert "  --role ROLE      one of org_admin, org_member, org_viewer; default org_member" in lines
    assert "  --org ORG        organization label or id; required" in lines
    assert "  FILE             CSV file with an email column; required" in lines
    assert lines[-1] == "  -h, --help       show this help"
    assert run(script, "-h").stdout == r.stdout


@pytest.mark.parametrize("args, message", [
    (["--org", "a", "--rol", "x", "f"], "unknown option '--rol' (did you mean '--role'?)"),
    (["--org", "a", "--concurrency", "many", "f"], "--concurrency needs an integer, got 'many'"),
    (["--org", "a", "--rate", "fast", "f"], "--rate needs a number, got 'fast'"),
    (["--org", "a", "--role", "king", "f"], "--role must be one of org_admin, org_member, org_viewer, got 'king'"),
    (["f"], "--org is required"),
    (["--org", "a"], "FILE is required"),
    (["--org", "a", "f", "g"], "unexpected argument 'g'"),
    (["--org"], "--org needs a value"),
    (["--org", "a", "--dry-run=yes", "f"], "--dry-run takes no value"),
    (["--org", "a", "-v", "f"], "unknown option '-v'"),
])
def test_usage_errors_exit_2_naming_the_option(script, args, message):
    r = run(script, *args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"invite: {message}"), r.stderr
    assert r.stderr.endswith("\nTry 'invite --help'.\n")


def test_mistakes_in_the_declaration_are_the_authors_errors():
    for code, message in [
        ('kc.args{{"x", typ = "integer"}}', "(command line):1: kc.args: option 'x' has unknown field 'typ' (did you mean 'type'?)"),
        ('kc.args.parse{{"x", type = "int"}}', "(command line):1: kc.args: option 'x' has unknown type 'int'"),
        ('kc.args{{"x"}, {"x"}}', "(command line):1: kc.args: option 'x' is declared twice"),
        ('kc.args.help{{}}', "(command line):1: kc.args: option 1 needs a name"),
        ('kc.args(5)', "(command line):1: bad argument #1 to 'kc.args' (table expected, got number)"),
    ]:
        r = subprocess.run([str(KCSH), "-e", code], capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=60)
        assert r.returncode == 1 and message in r.stderr, (code, r.stderr)


def test_parse_returns_instead_of_exiting():
    code = 'print(kc.args.parse({{"n", type = "integer"}}, {"--n", "x"})) print(kc.args.parse({{"n"}}, {"--help"}))'
    r = subprocess.run([str(KCSH), "-e", code], capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=60)
    assert r.stdout == "nil\t--n needs an integer, got 'x'\nnil\thelp\n", r.stderr
