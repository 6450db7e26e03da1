"""A one-route HTTP server for deploy/smoke: answers every GET with the X-Forwarded-For header
it received ("none" without one), so the smoke test sees what Caddy forwards.

    python3 echo_forwarded_for.py PORT      (listens on 127.0.0.1 only; stopped by the caller)
"""

import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (self.headers.get("X-Forwarded-For") or "none").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
