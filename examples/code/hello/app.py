"""hello: a tiny web service for gitward's build-side example.

It answers every GET with a greeting and the version it was built as, so a
deployed version is visible with one request.
"""

import os
from http.server import BaseHTTPRequestHandler, HTTPServer

GREETING = os.environ.get("GREETING", "hello")
VERSION = os.environ.get("APP_VERSION", "unknown")
PORT = int(os.environ.get("PORT", "8080"))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{GREETING} from hello {VERSION}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("", PORT), Handler).serve_forever()
