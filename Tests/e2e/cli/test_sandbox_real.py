"""--sandbox with the real kcsh-sandbox, when it has been built (it is not
part of the lean and ASan builds): the child serves HTTP while the script
runs, and its port is closed once kcsh has exited."""
import shutil
import socket
import subprocess
import urllib.request

import pytest

from cli_helpers import clean_env
from e2epaths import ROOT, SANDBOX_BIN


@pytest.fixture
def kcsh_with_real_sandbox(kcsh_bin, tmp_path):
    if not SANDBOX_BIN.is_file():
        pytest.skip("kcsh-sandbox is not built")
    shutil.copy2(kcsh_bin, tmp_path / "kcsh")
    (tmp_path / "kcsh-sandbox").symlink_to(SANDBOX_BIN.resolve())
    return tmp_path / "kcsh"


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_real_sandbox_serves_then_stops(kcsh_with_real_sandbox):
    script = ("print(os.getenv('KEYCARD_API_BASE_URL')) io.stdout:flush() "
              "print(io.read('l')) os.exit(4)")
    p = subprocess.Popen([str(kcsh_with_real_sandbox), "--sandbox", "-e", script], env=clean_env(),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = p.stdout.readline().decode().strip()
    assert url.startswith("http://127.0.0.1:")
    port = int(url.rsplit(":", 1)[1])
    with urllib.request.urlopen(url + "/openapi.json", timeout=10) as r:
        assert r.status == 200
    # It holds the demo data, so a first session has something to explore.
    demo = subprocess.run([str(kcsh_with_real_sandbox), "--sandbox", "-e",
                           "print(kc.org('acme').name)"],
                          env=dict(clean_env(), KCSH_PATH=str(ROOT / "stdlib")),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout == b"Acme Corp\n"
    out, err = p.communicate(b"go on\n", timeout=60)
    assert p.returncode == 4
    assert out == b"go on\n"
    assert f"local Keycard sandbox at {url}".encode() in err
    assert not port_open(port)
