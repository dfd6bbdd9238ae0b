"""A webhook receiver on 127.0.0.1 for e2e tests: records every request, fails when told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gitward.dev.ports import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.body)
        return out


@dataclass
class Receiver:
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many requests
    failing: bool = False  # answer 500 until cleared
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    last_at: float = 0.0  # monotonic time the last request came in

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[Received]:
        """The requests answered 2xx, in order."""
        with self.lock:
            return [r for r in self.requests if r.answered == 200]

    def arrived(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.last_at = time.monotonic()

    def left(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def quiet(self, seconds: float, *, timeout: float = 30.0) -> None:
        """Wait until no request is being handled and none came in for ``seconds``
        (a sender killed mid-request may still have one on its way)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.in_flight and time.monotonic() - self.last_at >= seconds:
                    return
            time.sleep(0.05)
        raise AssertionError(f"the receiver was never quiet for {seconds}s")

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = 200
            if self.failing:
                status = 500
            elif self.fail_next > 0:
                self.fail_next -= 1
                status = 500
            self.requests.append(Received(path, headers, body, status))
            return status


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver listening until the block ends; its port is below the ephemeral range,
    checked free and bound at once (another listener can take it between the two only
    by racing; then the next free port is tried)."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver.arrived()
            try:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status = receiver.answer(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            finally:
                receiver.left()

        def log_message(self, format: str, *args: Any) -> None:
            return  # the test asserts on what arrived; no lines on stderr

    server: ThreadingHTTPServer | None = None
    for _ in range(20):
        try:
            server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
            break
        except OSError:
            continue
    assert server is not None, "no free port for the receiver"
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
