"""A pass-through HTTP relay in front of the real forge that kills a process on cue.

A crash "right after the forge took a status, before the sender heard back"
cannot be timed from outside with sleeps and polls. The relay times it: every
request goes on to the forge unchanged, and the first one ``trap`` picks
SIGKILLs the given process either before it is forwarded (the forge never
sees it) or after the forge answered (the sender never hears it). The forge
is still the real one; the relay only decides when the sender dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from gitward.dev.ports import free_port

_FORWARDED = ("Authorization", "Content-Type", "Accept", "User-Agent")
_RETURNED = ("Content-Type", "Link", "X-Total-Count")


class Moment(Enum):
    BEFORE_THE_FORGE = "before-the-forge-has-it"
    AFTER_THE_FORGE = "after-the-forge-has-it"


#: Picks a request: (method, path, JSON body or None) -> whether to kill on it.
Trap = Callable[[str, str, Any], bool]


class KillingRelay:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._armed: tuple[Trap, int, Moment] | None = None
        self.sprung = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> KillingRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def arm(self, trap: Trap, *, pid: int, moment: Moment) -> None:
        """SIGKILL ``pid`` at ``moment`` of the first request ``trap`` picks (once)."""
        with self._lock:
            self._armed = (trap, pid, moment)

    def relay(self, method: str, path: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        with self._lock:
            armed = self._armed
            if armed is not None and armed[0](method, path, _json(body)):
                self._armed = None
            else:
                armed = None
        if armed is not None and armed[2] is Moment.BEFORE_THE_FORGE:
            self._kill(armed[1])
            return httpx.Response(502)
        answer = httpx.request(
            method, self.target + path, headers=headers, content=body, timeout=30
        )
        if armed is not None:
            self._kill(armed[1])
        return answer

    def _kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self.sprung.set()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _handler(relay: KillingRelay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k in _FORWARDED if (v := self.headers.get(k)) is not None}
            answer = relay.relay(self.command, self.path, headers, body)
            try:
                self.send_response(answer.status_code)
                for name in _RETURNED:
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)
            except OSError:
                self.close_connection = True  # its caller was just killed

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        def handle(self) -> None:
            # A keep-alive connection of the process just killed is reset.
            with contextlib.suppress(ConnectionResetError):
                super().handle()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
