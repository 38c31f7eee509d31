"""The base of the e2e tests' own HTTP servers' handlers (a server that
misbehaves on purpose). Not in conftest.py: every e2e directory has one."""
from http.server import BaseHTTPRequestHandler


class JSONHandler(BaseHTTPRequestHandler):
    """The base of the tests' own HTTP servers' handlers: JSON answers, and no
    log line on stderr per request."""

    def send_json(self, status, body, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass
