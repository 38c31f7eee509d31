"""TLS: verification is always on; a private CA is trusted only through
SSL_CERT_FILE or CURL_CA_BUNDLE."""
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from clientlib import JSONHandler, kcsh, clean_env


class Hello(JSONHandler):
    def do_GET(self):
        self.send_json(200, b'{"hello":"tls"}')


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("no openssl")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_port}", cert
    server.shutdown()
    server.server_close()


CODE = "local ok, r = pcall(kc.request, {path = '/x', retries = 0}); print(ok and r.hello or r.kind)"


def env_for(base, **extra):
    env = clean_env(KEYCARD_API_BASE_URL=base, KEYCARD_API_API_KEY="tls-test-key-1",
                    XDG_CONFIG_HOME="/nonexistent")
    for var in ("SSL_CERT_FILE", "CURL_CA_BUNDLE", "SSL_CERT_DIR"):
        env.pop(var, None)  # this machine may set them for its own CAs
    env.update(extra)
    return env


def test_untrusted_certificate_is_refused(https_server):
    base, _ = https_server
    r = kcsh("-e", CODE, env=env_for(base))
    assert r.stdout.strip() == "transport", r.stderr
    r = kcsh("-e", "local ok, e = pcall(kc.request, {path = '/x', retries = 0}); print(e.message)", env=env_for(base))
    assert "tls:" in r.stdout or "certificate" in r.stdout, r.stdout


@pytest.mark.parametrize("var", ["SSL_CERT_FILE", "CURL_CA_BUNDLE"])
def test_private_ca_through_the_usual_variables(https_server, var):
    base, cert = https_server
    r = kcsh("-e", CODE, env=env_for(base, **{var: str(cert)}))
    assert r.stdout.strip() == "tls", r.stderr


@pytest.fixture(scope="module")
def h2_server(https_server, tmp_path_factory):
    """nghttpd speaks only HTTP/2 (ALPN h2), so an answer from it proves that
    kcsh negotiated HTTP/2. It reuses the test certificate."""
    nghttpd = shutil.which("nghttpd") or "/usr/sbin/nghttpd"
    _, cert = https_server
    key = cert.parent / "key.pem"
    docs = tmp_path_factory.mktemp("h2docs")
    (docs / "x").write_text('{"hello":"h2"}')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([nghttpd, "-d", str(docs), "--address=127.0.0.1", str(port), str(key), str(cert)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert time.monotonic() < deadline and proc.poll() is None, "nghttpd did not start"
        time.sleep(0.05)
    yield f"https://127.0.0.1:{port}", cert
    proc.terminate()
    proc.wait(timeout=10)


def test_http2_when_the_server_offers_it(h2_server):
    base, cert = h2_server
    r = kcsh("--trace", "-e", "print(kc.request{path = '/x', retries = 0}.hello)",
             env=env_for(base, SSL_CERT_FILE=str(cert)))
    assert r.stdout.strip() == "h2", r.stderr
    assert f"GET {base}/x -> 200 HTTP/2 (1 attempt" in r.stderr
