"""--sandbox with a fake kcsh-sandbox next to a copy of kcsh: the child is
started with --port 0 --exit-with-stdin, its URL and key land in kcsh's
environment, and it is gone after every way kcsh can end."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from cli_helpers import HERE, SCRIPTS, clean_env

pytestmark = pytest.mark.asan


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): look at its state.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def sandbox_dir(kcsh_bin, tmp_path):
    """A bin directory holding a copy of kcsh and the fake kcsh-sandbox."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy2(kcsh_bin, bin_dir / "kcsh")
    shutil.copy2(HERE / "fake" / "kcsh-sandbox", bin_dir / "kcsh-sandbox")
    state = tmp_path / "state"
    state.mkdir()
    return bin_dir, state


def kcsh(sandbox_dir, args, mode="ok", **kw):
    bin_dir, state = sandbox_dir
    env = clean_env(FAKE_SANDBOX_STATE=str(state), FAKE_SANDBOX_MODE=mode)
    return subprocess.run([str(bin_dir / "kcsh"), *args], cwd=SCRIPTS, env=env, input=b"",
                          capture_output=True, timeout=60, **kw)


def child_pid(state):
    return int((state / "pid").read_text())


def assert_stopped_cleanly(state):
    pid = child_pid(state)
    assert wait_gone(pid), "kcsh-sandbox still runs after kcsh exited"
    assert (state / "stopped").read_text() == "stdin closed"


def test_environment_and_message(sandbox_dir):
    _, state = sandbox_dir
    p = kcsh(sandbox_dir, ["--sandbox", "-e",
                           "print(os.getenv('KEYCARD_API_BASE_URL'), os.getenv('KEYCARD_API_API_KEY'))"])
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"http://127.0.0.1:4567\tsk_test_fake\n"
    assert p.stderr.decode().count("\n") == 1
    assert "local Keycard sandbox at http://127.0.0.1:4567" in p.stderr.decode()
    assert (state / "argv").read_text().split("\n") == ["--port", "0", "--demo", "--exit-with-stdin"]
    assert_stopped_cleanly(state)


def test_stopped_after_os_exit(sandbox_dir):
    _, state = sandbox_dir
    p = kcsh(sandbox_dir, ["--sandbox", "-e", "os.exit(3)"])
    assert p.returncode == 3
    assert_stopped_cleanly(state)


def test_stopped_after_os_exit_closing_the_state(sandbox_dir):
    _, state = sandbox_dir
    p = kcsh(sandbox_dir, ["--sandbox", "-e", "os.exit(false, true)"])
    assert p.returncode == 1
    assert_stopped_cleanly(state)


def test_stopped_after_an_error(sandbox_dir):
    _, state = sandbox_dir
    p = kcsh(sandbox_dir, ["--sandbox", "runtime_error.lua"])
    assert p.returncode == 1
    assert b"boom" in p.stderr
    assert_stopped_cleanly(state)


def test_stopped_after_a_script_from_stdin(sandbox_dir):
    bin_dir, state = sandbox_dir
    env = clean_env(FAKE_SANDBOX_STATE=str(state))
    p = subprocess.run([str(bin_dir / "kcsh"), "--sandbox"], cwd=SCRIPTS, env=env,
                       input=b"print(os.getenv('KEYCARD_API_API_KEY'))", capture_output=True, timeout=60)
    assert (p.returncode, p.stdout) == (0, b"sk_test_fake\n")
    assert_stopped_cleanly(state)


def test_stopped_after_ctrl_c(sandbox_dir):
    bin_dir, state = sandbox_dir
    env = clean_env(FAKE_SANDBOX_STATE=str(state))
    p = subprocess.Popen([str(bin_dir / "kcsh"), "--sandbox", "loop.lua"], cwd=SCRIPTS, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"looping\n"
    # The child has a process group of its own: a Ctrl-C at the terminal
    # goes to kcsh (which interrupts the script), not to the sandbox.
    pid = child_pid(state)
    assert os.getpgid(pid) == pid != os.getpgid(p.pid)
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 1
    assert b"interrupted!" in err
    assert_stopped_cleanly(state)


def test_stops_when_kcsh_is_killed(sandbox_dir):
    """SIGKILL leaves kcsh no chance: the child sees its stdin close."""
    bin_dir, state = sandbox_dir
    env = clean_env(FAKE_SANDBOX_STATE=str(state))
    p = subprocess.Popen([str(bin_dir / "kcsh"), "--sandbox", "loop.lua"], cwd=SCRIPTS, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"looping\n"
    p.kill()
    p.wait(timeout=30)
    assert_stopped_cleanly(state)


def test_scripts_children_do_not_hold_the_sandbox(sandbox_dir):
    """The pipe to the child is close-on-exec: a process the script starts
    and leaves behind does not keep the sandbox alive."""
    _, state = sandbox_dir
    p = kcsh(sandbox_dir, ["--sandbox", "-e", "os.execute('sleep 30 >/dev/null 2>&1 &')"])
    assert p.returncode == 0
    assert_stopped_cleanly(state)


def test_output_after_the_two_lines_is_drained(sandbox_dir):
    _, state = sandbox_dir
    p = kcsh(sandbox_dir, ["--sandbox", "-e", "print('ok')"], mode="chatty")
    assert (p.returncode, p.stdout) == (0, b"ok\n")
    assert_stopped_cleanly(state)
    assert (state / "drained").exists()
    # What it says on stderr once started reaches kcsh's stderr.
    assert b"fake sandbox: a later message\n" in p.stderr
    assert b"starting" not in p.stderr


def test_child_that_ignores_stdin_is_terminated(sandbox_dir):
    _, state = sandbox_dir
    started = time.time()
    p = kcsh(sandbox_dir, ["--sandbox", "-e", "print('ok')"], mode="deaf")
    assert (p.returncode, p.stdout) == (0, b"ok\n")
    assert wait_gone(child_pid(state), 1)
    assert time.time() - started < 20


def test_sandbox_missing(kcsh_bin, tmp_path):
    shutil.copy2(kcsh_bin, tmp_path / "kcsh")
    p = subprocess.run([str(tmp_path / "kcsh"), "--sandbox", "-e", "print('never')"], env=clean_env(),
                       capture_output=True, timeout=60)
    assert p.returncode == 1
    assert p.stdout == b""
    assert b"kcsh-sandbox" in p.stderr and b"missing" in p.stderr


def test_sandbox_that_dies(sandbox_dir):
    p = kcsh(sandbox_dir, ["--sandbox", "-e", "print('never')"], mode="die")
    assert p.returncode == 1
    assert p.stdout == b""
    assert b"stopped before it was ready; it said:\nfake sandbox: starting" in p.stderr
    assert p.stderr.endswith(b"fake sandbox: cannot bind\n")


def test_sandbox_that_prints_something_else(sandbox_dir):
    _, state = sandbox_dir
    p = kcsh(sandbox_dir, ["--sandbox", "-e", "print('never')"], mode="garbage")
    assert p.returncode == 1
    assert p.stdout == b""
    assert b"did not print its URL and API key" in p.stderr
    assert wait_gone(child_pid(state))


def test_sandbox_after_the_script_name_is_an_argument(sandbox_dir):
    _, state = sandbox_dir
    p = kcsh(sandbox_dir, ["args.lua", "--sandbox"])
    assert p.returncode == 0
    assert b"1\t--sandbox\n" in p.stdout
    assert not (state / "pid").exists()


def test_repl_ctrl_c_spares_the_sandbox(sandbox_dir):
    """On a terminal, Ctrl-C at the REPL's prompt reaches kcsh only; the
    sandbox goes when the REPL ends."""
    pexpect = pytest.importorskip("pexpect")
    bin_dir, state = sandbox_dir
    env = clean_env(FAKE_SANDBOX_STATE=str(state), TERM="dumb", HOME=str(state),
                    XDG_STATE_HOME=str(state / "xdg"))
    child = pexpect.spawn(str(bin_dir / "kcsh"), ["--sandbox"], env=env, cwd=str(SCRIPTS), timeout=20)
    child.expect_exact("local Keycard sandbox at http://127.0.0.1:4567")
    child.expect_exact("> ")
    pid = child_pid(state)
    child.sendintr()
    child.expect_exact("> ")
    child.sendline("print(os.getenv('KEYCARD_API_API_KEY'))")
    child.expect_exact("sk_test_fake")
    assert alive(pid)
    child.expect_exact("> ")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert_stopped_cleanly(state)
