"""The controller's HTTP API: a small HTTP/1.1 server on ``asyncio.start_server``.

Why no web framework: the controller serves nine endpoints, each a few lines,
to probes, Prometheus and forges. An ASGI stack (framework, server, their
dependencies) would cost more memory than the rest of the process and add
packages to the controller image. What the API needs from HTTP is small: one
request per connection, a ``Content-Length`` body under 1 MiB, JSON out. That
fits in this module, and the controller keeps its dependency list.

What it does, exactly:

- One request per connection, answered with ``Connection: close``. Probes and
  forges open a connection per request anyway.
- The request line, headers and body must arrive within ``read_timeout``
  seconds (408 otherwise), so a slow client cannot hold a connection open.
- Headers up to 64 KiB (431). Bodies by ``Content-Length`` only, up to 1 MiB
  (413, answered before the body is read). ``Transfer-Encoding`` gets 501.
  ``Expect: 100-continue`` is honoured.
- Routes are a table of ``(method, template)``. A path that matches with
  another method gets 405 and ``Allow``; no match gets 404.
- With a token, every route but the probes and the webhooks (which carry their
  own signature) needs ``Authorization: Bearer <token>``; 401 otherwise (see
  :mod:`~gitward.api.auth`).
- The app routes answer 503 with the reason while the source cannot answer
  them (a standby, or no config loaded yet), never an empty list.
- A handler that raises :class:`~gitward.api.protocols.SourceError` gets its
  status and message. Any other exception is a bug: 500 with a JSON error. It
  is logged and the server carries on.

Every error body is ``{"error": "..."}``. The message starts with its subject.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from gitward.api import openapi
from gitward.api.auth import bearer_matches
from gitward.api.metrics import Registry
from gitward.api.protocols import SourceError, StatusSource
from gitward.api.webhooks import VERIFIERS

__all__ = [
    "MAX_BODY_BYTES",
    "ApiServer",
    "Request",
    "Response",
    "Route",
    "routes",
    "serve",
]

log = logging.getLogger("gitward.api")

MAX_BODY_BYTES = 1 << 20
MAX_HEAD_BYTES = 64 << 10
DEFAULT_READ_TIMEOUT = 10.0
#: After an early error answer, how long and how much of the client's input to drop.
LINGER_SECONDS = 2.0
LINGER_BYTES = 8 * MAX_BODY_BYTES
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Request:
    method: str
    #: The path as sent (still percent-encoded); routes match its decoded segments.
    path: str
    query: Mapping[str, list[str]]
    #: Header names in lower case; repeated headers joined with ", ".
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: Sequence[tuple[str, str]] = ()


def json_response(status: int, doc: Any) -> Response:
    return Response(status=status, body=json.dumps(doc).encode("utf-8") + b"\n")


def text_response(status: int, text: str, *, content_type: str = "text/plain") -> Response:
    return Response(status=status, body=text.encode("utf-8"), content_type=content_type)


def error_response(status: int, message: str, **headers: str) -> Response:
    response = json_response(status, {"error": message})
    return Response(
        status=response.status,
        body=response.body,
        content_type=response.content_type,
        headers=tuple(headers.items()),
    )


Handler = Callable[[Request, Mapping[str, str]], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    """``GET /api/v1/apps/{name}``: literal segments and ``{captures}`` of one segment each."""

    method: str
    template: str
    handler: Handler
    #: Served without the bearer token: the probes, and webhooks (they carry their own HMAC).
    public: bool = False
    _parts: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_parts", tuple(self.template.split("/")[1:]))

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The captures when the decoded path ``segments`` fit the template, else ``None``."""
        if len(segments) != len(self._parts):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(self._parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not segment:
                    return None
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


# --- handlers ------------------------------------------------------------------


def routes(source: StatusSource, registry: Registry) -> list[Route]:
    """The route table, bound to ``source`` and ``registry``."""
    openapi_body = json.dumps(openapi.document()).encode("utf-8") + b"\n"

    def app_missing(name: str) -> Response:
        return error_response(404, f"app {name} not found")

    def app_routes_unavailable() -> Response | None:
        reason = source.unavailable()
        return error_response(503, reason) if reason else None

    async def healthz(request: Request, params: Mapping[str, str]) -> Response:
        reason = source.liveness()
        return text_response(503, reason) if reason else text_response(200, "ok")

    async def readyz(request: Request, params: Mapping[str, str]) -> Response:
        reason = source.readiness()
        return text_response(503, f"not ready: {reason}") if reason else text_response(200, "ok")

    async def metrics(request: Request, params: Mapping[str, str]) -> Response:
        return text_response(200, registry.render(), content_type=METRICS_CONTENT_TYPE)

    async def openapi_json(request: Request, params: Mapping[str, str]) -> Response:
        return Response(status=200, body=openapi_body)

    async def apps(request: Request, params: Mapping[str, str]) -> Response:
        if refused := app_routes_unavailable():
            return refused
        return json_response(200, {"apps": [source.app_summary(n) for n in source.app_names()]})

    async def app(request: Request, params: Mapping[str, str]) -> Response:
        if refused := app_routes_unavailable():
            return refused
        detail = source.app_detail(params["name"])
        return app_missing(params["name"]) if detail is None else json_response(200, detail)

    async def drifts(request: Request, params: Mapping[str, str]) -> Response:
        name = params["name"]
        if refused := app_routes_unavailable():
            return refused
        if name not in source.app_names():
            return app_missing(name)
        return json_response(200, {"drifts": list(source.drift_records(name))})

    async def history(request: Request, params: Mapping[str, str]) -> Response:
        name = params["name"]
        if refused := app_routes_unavailable():
            return refused
        if name not in source.app_names():
            return app_missing(name)
        return json_response(200, {"history": list(await source.history(name))})

    async def webhook(request: Request, params: Mapping[str, str]) -> Response:
        forge = params["forge"]
        verify = VERIFIERS.get(forge)
        if verify is None:
            known = ", ".join(sorted(VERIFIERS))
            return error_response(404, f"webhook forge {forge} unknown; use one of: {known}")
        secret = source.webhook_secret()
        if not secret:
            return error_response(503, "webhooks are not configured")
        event = verify(request.headers, request.body, secret)
        if event is None:
            log.warning("webhook %s: signature did not verify; request dropped", forge)
            return error_response(401, f"webhook {forge}: signature did not verify")
        log.info("webhook %s: %s %s %s", forge, event.kind, event.ref or "-", event.after or "-")
        await source.on_webhook(event)
        return json_response(202, {"accepted": True})

    return [
        Route("GET", "/healthz", healthz, public=True),
        Route("GET", "/readyz", readyz, public=True),
        Route("GET", "/metrics", metrics),
        Route("GET", "/openapi.json", openapi_json),
        Route("GET", "/api/v1/apps", apps),
        Route("GET", "/api/v1/apps/{name}", app),
        Route("GET", "/api/v1/apps/{name}/drifts", drifts),
        Route("GET", "/api/v1/apps/{name}/history", history),
        Route("POST", "/api/v1/webhooks/{forge}", webhook, public=True),
    ]


# --- the wire --------------------------------------------------------------------


class _HttpError(Exception):
    """A request we answer with an error before any handler sees it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    """Method, target and lower-cased headers from the bytes before the blank line."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[0].isupper():
        raise _HttpError(400, f"request line {lines[0][:100]!r}: malformed")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise _HttpError(505, f"{version[:20]}: only HTTP/1.0 and HTTP/1.1 are supported")
    if not target.startswith("/"):
        raise _HttpError(400, f"request target {target[:100]!r}: must be a path")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[0] in " \t" or "\n" in line:
            raise _HttpError(400, f"header line {line[:100]!r}: malformed")
        key, value = name.lower(), value.strip(" \t")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return method, target, headers


def _content_length(headers: Mapping[str, str]) -> int:
    if "transfer-encoding" in headers:
        raise _HttpError(501, "Transfer-Encoding: not supported; send Content-Length")
    raw = headers.get("content-length")
    if raw is None:
        return 0
    values = {value.strip() for value in raw.split(",")}
    if len(values) != 1 or not (value := values.pop()).isdigit() or not value.isascii():
        raise _HttpError(400, f"Content-Length {raw[:40]!r}: not a number")
    # Checking the digits first keeps int() away from a 60 KiB number.
    if len(value) > 18 or int(value) > MAX_BODY_BYTES:
        raise _HttpError(413, f"request body of {value[:20]} bytes: the limit is {MAX_BODY_BYTES}")
    return int(value)


async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as e:
        raise _HttpError(431, f"request headers: longer than {MAX_HEAD_BYTES} bytes") from e
    method, target, headers = _parse_head(head[:-4])
    length = _content_length(headers)
    if length and headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    body = await reader.readexactly(length) if length else b""
    # Not urlsplit: it would read a target of "//host/path" as a host and a path.
    path, _, query = target.partition("#")[0].partition("?")
    return Request(
        method=method,
        path=path,
        query=parse_qs(query, keep_blank_values=True),
        headers=headers,
        body=body,
    )


def _encode(response: Response) -> bytes:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in response.headers),
    ]
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + response.body


class ApiServer:
    """A running API server. ``port`` is the bound port, so ``port=0`` works."""

    def __init__(
        self,
        *,
        routes: Sequence[Route],
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        token: str = "",
    ) -> None:
        self.routes = tuple(routes)
        self.read_timeout = read_timeout
        self._token = token
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("API server: not listening")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self, *, host: str, port: int) -> None:
        self._server = await asyncio.start_server(
            self._on_connection, host=host, port=port, limit=MAX_HEAD_BYTES
        )
        log.info("API listening on %s:%d", host, self.port)

    async def close(self) -> None:
        """Stop listening and drop the connections still open."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def dispatch(self, request: Request) -> Response:
        """The response of the route ``request`` matches: 404, 405 or the handler's."""
        segments = [unquote(segment) for segment in request.path.split("/")[1:]]
        allowed: list[str] = []
        for route in self.routes:
            params = route.match(segments)
            if params is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            if (
                self._token
                and not route.public
                and not bearer_matches(request.headers, self._token)
            ):
                return error_response(
                    401,
                    f"{request.method} {request.path}: unauthorized; "
                    "send Authorization: Bearer <API token>",
                    **{"WWW-Authenticate": 'Bearer realm="gitward"'},
                )
            try:
                return await route.handler(request, params)
            except SourceError as e:
                return error_response(e.status, e.message)
            except Exception:
                log.exception("%s %s: handler failed", request.method, request.path)
                return error_response(
                    500, f"{request.method} {request.path}: internal error; see the controller log"
                )
        if allowed:
            return error_response(
                405,
                f"{request.method} {request.path}: method not allowed; use {', '.join(allowed)}",
                Allow=", ".join(allowed),
            )
        return error_response(404, f"{request.path}: not found")

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            response, unread = await self._respond(reader, writer)
            if response is None:
                return
            async with asyncio.timeout(self.read_timeout):
                writer.write(_encode(response))
                await writer.drain()
            if unread:
                await _discard_unread(reader, writer)
        except (ConnectionError, TimeoutError):
            pass  # The client went away or stopped reading; nobody is left to answer.
        except Exception:
            log.exception("API connection: failed; closing it")
        except asyncio.CancelledError:
            # close() or loop shutdown. The task is the connection's own and nothing
            # awaits it; Python 3.11's stream callback logs a cancelled one as an error.
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
            if task is not None:
                self._connections.discard(task)

    async def _respond(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[Response | None, bool]:
        """The response to this connection's one request, and whether input was left unread.

        The response is ``None`` when the client closed before a whole request arrived.
        """
        try:
            async with asyncio.timeout(self.read_timeout):
                request = await _read_request(reader, writer)
        except TimeoutError:
            message = f"request: not received within {self.read_timeout:g}s"
            return error_response(408, message), False
        except _HttpError as e:
            return error_response(e.status, e.message), True
        except asyncio.IncompleteReadError:
            return None, False
        return await self.dispatch(request), False


async def _discard_unread(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read what the client still sends after an early error answer, within limits.

    Closing a socket with unread input makes the kernel send a reset. A client
    still uploading a body we refused (413) would then often lose our answer. So
    we send FIN, then read and drop its input for a moment before closing.
    """
    if writer.can_write_eof():
        writer.write_eof()
    dropped = 0
    async with asyncio.timeout(LINGER_SECONDS):
        while dropped < LINGER_BYTES and (chunk := await reader.read(64 << 10)):
            dropped += len(chunk)


async def serve(
    *,
    host: str = "127.0.0.1",
    port: int,
    source: StatusSource,
    registry: Registry,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    token: str = "",
) -> ApiServer:
    """Start the API on ``host:port`` and return it; stop it with ``await server.close()``.

    With a ``token``, every route but the public ones needs it as a bearer token.
    """
    server = ApiServer(routes=routes(source, registry), read_timeout=read_timeout, token=token)
    await server.start(host=host, port=port)
    return server
