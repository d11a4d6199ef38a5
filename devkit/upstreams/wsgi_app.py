# The differential-test route set as a plain WSGI micro-app on the standard library's wsgiref
# server: it routes on PATH_INFO the way WSGI micro-frameworks do (regexes, case-sensitive).
# Usage: python3 wsgi_app.py [port]; prints "listening <port>" once it accepts connections.
import json
import re
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROUTES = [
    # (pattern on the decoded path, method or None for any, handler)
    (re.compile(r"/api/admin(?:/.*)?", re.S), None, "admin"),
    (re.compile(r"/api/tasks", re.S), "POST", "tasks"),
    (re.compile(r"/api/.*", re.S), None, "other"),
]
IDENTITY_HEADERS = ("x-user-id", "x-scopes", "x-ticks-charged")


def app(environ, start_response):
    # PEP 3333: PATH_INFO is the %-decoded path as one str character per byte (latin-1);
    # frameworks (Werkzeug, Bottle) turn it back into bytes and decode UTF-8.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    method = environ.get("REQUEST_METHOD", "")
    handler = next((h for rx, m, h in ROUTES if rx.fullmatch(path) and (m is None or m == method)), None)
    if handler is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    headers = {}
    for name in IDENTITY_HEADERS:
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in environ:
            headers[name] = environ[key]
    body = json.dumps({"server": "wsgiref", "handler": handler, "path": path, "target": environ.get("RAW_URI", ""), "headers": headers}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # no access log on stderr
        pass

    def get_environ(self):
        # the request target as the server kept it (gunicorn's RAW_URI), for the test's messages
        env = super().get_environ()
        env["RAW_URI"] = self.path
        return env


if __name__ == "__main__":
    server = make_server("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0, app, server_class=ThreadingServer, handler_class=QuietHandler)
    print("listening", server.server_port, flush=True)
    server.serve_forever()
