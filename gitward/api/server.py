"""Serving the API with uvicorn, inside the controller's own event loop.

The controller, the API and the UI share one process and one event loop:
``uvicorn.Server.serve()`` runs as a task beside the reconcile loop, so an
endpoint reads the controller's memory without locks or copies.

Two things differ from ``uvicorn.run``:

- The socket is bound here, before uvicorn starts, so a port in use is an
  ``OSError`` for the caller (uvicorn would exit the process), and ``port=0``
  gives a free port that :attr:`ApiServer.port` reports.
- uvicorn does not take SIGTERM/SIGINT: the controller owns them, finishes its
  in-flight work, hands its lease over, and then closes the server.

Limits: request heads up to 64 KiB (uvicorn answers 400 beyond), bodies as the
routes read them (1 MiB for webhooks, 413 beyond), at most
``MAX_CONNECTIONS`` open connections (503 beyond), idle keep-alive connections
closed after 5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from gitward.api.app import build_app
from gitward.api.metrics import Registry
from gitward.api.protocols import StatusSource
from gitward.api.routes import MAX_BODY_BYTES, api_routes

__all__ = ["MAX_BODY_BYTES", "ApiServer", "serve"]

log = logging.getLogger("gitward.api")

MAX_HEAD_BYTES = 64 << 10
MAX_CONNECTIONS = 256
#: How long close() lets running requests (a live-update stream, say) finish.
SHUTDOWN_SECONDS = 2


class _InLoopServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signals to the controller."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.create_server(address[:2], family=family)
    sock.setblocking(False)
    return sock


class ApiServer:
    """A running server. ``port`` is the bound port, so ``port=0`` works."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self._socket: socket.socket | None = None
        self._server: _InLoopServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def routes(self) -> list[BaseRoute]:
        return self.app.routes

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("API server: not listening")
        port: int = self._socket.getsockname()[1]
        return port

    async def start(self, *, host: str, port: int) -> None:
        self._socket = _bind(host, port)
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            proxy_headers=False,
            server_header=False,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=SHUTDOWN_SECONDS,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        )
        self._server = _InLoopServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError(f"API server on {host}:{port}: stopped while starting")
            await asyncio.sleep(0.01)
        log.info("API listening on %s:%d", host, self.port)

    async def close(self) -> None:
        """Stop listening, let running requests finish briefly, then drop them."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS + 2):
                await self._task
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        finally:
            if self._socket is not None:
                self._socket.close()
            self._server = self._task = self._socket = None


async def serve(
    *,
    host: str = "127.0.0.1",
    port: int,
    source: StatusSource,
    registry: Registry,
    token: str = "",
    routes: Sequence[BaseRoute] = (),
    middleware: Sequence[Middleware] = (),
) -> ApiServer:
    """Start the API (and ``routes``, such as the UI's) on ``host:port``; stop it with
    ``await server.close()``.

    With a ``token``, every route but the public ones needs it as a bearer token.
    """
    app = build_app(
        routes=[*api_routes(source, registry), *routes], token=token, middleware=middleware
    )
    server = ApiServer(app)
    await server.start(host=host, port=port)
    return server
