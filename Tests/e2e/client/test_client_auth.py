"""Credentials, profiles, secrets and cancellation, through kcsh."""
import os
import signal
import subprocess
import time

import pytest

from clientlib import KCSH, SANDBOX_BIN, kcsh, clean_env

CREATE = """
local org = kc.request{method = "POST", path = "/organizations", body = {name = "Secrets Inc"}}
local sa = kc.request{method = "POST", path = "/organizations/" .. org.id .. "/service-accounts",
                      body = {name = "ci"}}
local cred = kc.request{method = "POST",
  path = "/organizations/" .. org.id .. "/service-accounts/" .. sa.id .. "/credentials",
  body = {name = "deploy"}}
local f = assert(io.open(os.getenv("CRED_FILE"), "w"))
f:write(cred.client_id, "\\n", cred.client_secret, "\\n", org.id, "\\n")
f:close()
print("created", cred.name, cred.client_secret and "(secret received)")
"""


@pytest.fixture
def credential(sandbox, tmp_path):
    """Creates a credential with --trace on; returns (id, secret, org, run)."""
    path = tmp_path / "cred"
    r = kcsh("--trace", "-e", CREATE, env=sandbox.env(CRED_FILE=str(path)))
    assert r.returncode == 0, r.stderr
    cid, secret, org = path.read_text().split("\n")[:3]
    return cid, secret, org, r


def test_trace_of_a_run_that_creates_a_credential_shows_no_secret(sandbox, credential):
    cid, secret, org, r = credential
    assert r.stdout.strip() == "created\tdeploy\t(secret received)"
    trace = r.stderr
    assert f"POST {sandbox.base}/organizations -> 201 (1 attempt" in trace
    assert "/credentials -> 201" in trace
    for s in (secret, sandbox.key):
        assert s not in trace and s not in r.stdout
    assert "Authorization" not in trace


def test_client_credentials_token_cached_and_traced_without_secrets(sandbox, credential):
    cid, secret, org, _ = credential
    env = clean_env(KEYCARD_API_BASE_URL=sandbox.base, KEYCARD_API_CLIENT_ID=cid,
                    KEYCARD_API_CLIENT_SECRET=secret, XDG_CONFIG_HOME="/nonexistent")
    r = kcsh("--trace", "-e", """
        for i = 1, 3 do kc.request{path = "/organizations/%s"} end
        local t = kc.org_token("%s")
        print(t.token_type, math.type(t.expires_in), #t.access_token > 10)
        -- the organization token works as a bearer token
        local o = kc.request{path = "/organizations/%s", token = t.access_token}
        print(o.id == "%s", kc.config().auth)
    """ % (org, org, org, org), env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Bearer\tinteger\ttrue", "true\tclient_credentials"]
    assert r.stderr.count("/service-account-token -> 200") == 1  # one token, cached
    assert secret not in r.stderr + r.stdout


def test_bad_client_credentials_give_a_clear_error(sandbox, credential):
    cid, secret, _, _ = credential
    wrong = secret[:-2] + "zz"
    env = clean_env(KEYCARD_API_BASE_URL=sandbox.base, KEYCARD_API_CLIENT_ID=cid,
                    KEYCARD_API_CLIENT_SECRET=wrong, XDG_CONFIG_HOME="/nonexistent")
    r = kcsh("--trace", "-e", "local ok, e = pcall(kc.request, {path = '/organizations'}); print(e.kind, e.status); print(e)", env=env)
    lines = r.stdout.splitlines()
    assert lines[0] == "auth\t401"
    assert f"client credentials for {cid} were rejected" in lines[1]
    assert wrong not in r.stdout + r.stderr and secret not in r.stdout + r.stderr


def write_config(home, text, mode=0o600):
    d = home / "kcsh"
    d.mkdir(exist_ok=True)
    p = d / "config.toml"
    p.write_text(text)
    os.chmod(p, mode)
    return p


def test_profiles_and_precedence(sandbox, tmp_path):
    write_config(tmp_path, f"""
[profiles.sb]
base_url = "{sandbox.base}"
api_key_env = "SB_KEY"

[profiles.cmd]
base_url = "{sandbox.base}"
api_key_command = "echo {sandbox.key}"

[profiles.elsewhere]
base_url = "http://127.0.0.1:1"
api_key_env = "SB_KEY"
""")
    base = clean_env(XDG_CONFIG_HOME=str(tmp_path), SB_KEY=sandbox.key)
    code = "local c = kc.config(); print(c.base_url, c.profile, c.credentials_from); print(#kc.request{path='/organizations'}.items > 0)"
    r = kcsh("--profile", "sb", "-e", code, env=base)
    assert r.stdout.splitlines() == [f"{sandbox.base}\tsb\tprofile 'sb'", "true"], r.stderr
    r = kcsh("--profile=cmd", "-e", code, env=base)
    assert r.stdout.splitlines()[1] == "true", r.stderr
    r = kcsh("-e", code, env=dict(base, KCSH_PROFILE="sb"))
    assert r.stdout.splitlines()[0] == f"{sandbox.base}\tsb\tprofile 'sb'", r.stderr
    # The environment beats a profile chosen by KCSH_PROFILE...
    env = dict(base, KCSH_PROFILE="elsewhere", KEYCARD_API_BASE_URL=sandbox.base, KEYCARD_API_API_KEY=sandbox.key)
    r = kcsh("-e", code, env=env)
    assert r.stdout.splitlines() == [f"{sandbox.base}\telsewhere\tenvironment", "true"], r.stderr
    # ...but --profile, a flag, beats the environment.
    r = kcsh("--profile", "elsewhere", "-e", "print(kc.config().base_url)", env=env)
    assert r.stdout.strip() == "http://127.0.0.1:1"
    r = kcsh("--profile", "nope", "-e", "kc.config()", env=base)
    assert r.returncode == 1 and "no profile 'nope'" in r.stderr and "cmd, elsewhere, sb" in r.stderr


def test_world_readable_config_with_a_secret_is_refused(sandbox, tmp_path):
    p = write_config(tmp_path, f'[prod]\nbase_url = "{sandbox.base}"\napi_key = "{sandbox.key}"\n', mode=0o644)
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path))
    r = kcsh("--profile", "prod", "-e", "print(kc.request{path='/organizations'})", env=env)
    assert r.returncode == 1
    assert f"refusing {p}" in r.stderr and "readable by group or others (mode 644)" in r.stderr
    assert "chmod 600" in r.stderr and sandbox.key not in r.stderr
    os.chmod(p, 0o600)
    r = kcsh("--profile", "prod", "-e", "print(#kc.request{path='/organizations'}.items > 0)", env=env)
    assert r.stdout.strip() == "true", r.stderr


def test_nothing_client_related_at_startup(tmp_path):
    # A broken config file and no libcurl mapped: neither is touched until a
    # script uses kc's client.
    write_config(tmp_path, "this is not toml\n", mode=0o644)
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path))
    maps = "local m = io.open('/proc/self/maps'):read('a'); print(m:find('libcurl') and 'curl' or 'no curl')"
    r = kcsh("-e", maps + "; print(kc.json.encode{1}); " + maps, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["no curl", "[1]", "no curl"]
    r = kcsh("-e", "kc.config()", env=env)
    assert r.returncode == 1 and "config.toml:1" in r.stderr


def test_a_script_without_credentials_fails_and_starts_no_sandbox(tmp_path):
    # The automatic sandbox is for people at the REPL: a script (-e, a file,
    # or a program on stdin) without credentials is an error that says how to
    # configure them, and no sandbox is started.
    env = clean_env(XDG_CONFIG_HOME="/nonexistent")
    script = tmp_path / "s.lua"
    script.write_text("print(#kc.organizations:list().items)\n")
    for args, stdin in ((["-e", "print(kc.config().base_url)"], ""), ([str(script)], ""),
                        (["-"], "print(kc.config().base_url)\n")):
        r = subprocess.run([str(KCSH), *args], env=env, input=stdin, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "no Keycard credentials" in r.stderr and "KEYCARD_API_API_KEY" in r.stderr
        assert "--sandbox" in r.stderr and "--profile" in r.stderr
        assert "using a local sandbox" not in r.stderr and r.stdout == ""


def test_a_script_with_the_sandbox_flag_still_runs():
    if not (KCSH.parent / "kcsh-sandbox").exists():
        pytest.skip("no kcsh-sandbox next to kcsh")
    env = clean_env(XDG_CONFIG_HOME="/nonexistent")
    code = "local c = kc.config(); print(c.base_url:match('^http://127.0.0.1:%d+$') ~= nil, #kc.organizations:list().items > 0)"
    r = kcsh("--sandbox", "-e", code, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "true\ttrue", r.stderr
    assert "using a local Keycard sandbox at http://127.0.0.1:" in r.stderr


def test_a_base_url_without_credentials_is_used_not_replaced_by_a_sandbox(tmp_path):
    # The user pointed somewhere: kcsh goes there (and fails to authenticate
    # there) rather than start a sandbox behind their back.
    write_config(tmp_path, '[profiles.bare]\nbase_url = "http://127.0.0.1:1"\n')
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path))
    for args, extra in ((["--profile", "bare"], {}), ([], {"KEYCARD_API_BASE_URL": "http://127.0.0.1:1"})):
        r = kcsh(*args, "-e", "local c = kc.config(); print(c.base_url, c.auth)", env=dict(env, **extra))
        assert r.stdout.strip() == "http://127.0.0.1:1\tnone", r.stderr
        assert "sandbox" not in r.stderr


def test_sandbox_and_profile_flags_exclude_each_other(tmp_path):
    r = kcsh("--sandbox", "--profile", "prod", "-e", "print(1)", env=clean_env(XDG_CONFIG_HOME=str(tmp_path)))
    assert r.returncode == 2 and r.stdout == ""
    assert "'--sandbox' and '--profile' cannot be used together" in r.stderr


def test_ctrl_c_cancels_a_slow_request_within_2s(start_sandbox):
    sb = start_sandbox()
    # An uncancelled request would take 10 s: five times the bound, room
    # enough for a loaded machine or an ASan build.
    sb.faults("latency=10s")
    p = subprocess.Popen([str(KCSH), "-e", "print('start'); io.stdout:flush(); kc.request{path = '/organizations'}"],
                         env=sb.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start"
    time.sleep(0.5)  # the request is in flight, held by the sandbox
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    p.wait(10)
    elapsed = time.monotonic() - sent
    err = p.stderr.read()
    assert elapsed < 2.0, elapsed
    assert p.returncode == 1
    assert "interrupted" in err
    p.stdout.close()
    p.stderr.close()
    sb.proc.kill()  # rather than wait for it to answer the cancelled request
