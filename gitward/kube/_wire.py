"""The bytes on the wire to one API server: what :class:`~gitward.kube._transport.Transport`
needs from an HTTP library, and that for a real server.

Two libraries stand behind this seam. A real API server is spoken to with
aiohttp, whose HTTP parser is compiled: a request costs its client half the CPU
it costs with httpx, over HTTP/1.1 or HTTP/2 alike (measured: 0.7 ms against
1.6 ms per server-side apply). Unit tests hand in an ``httpx`` transport that
answers in-process (the fake API server), served by :mod:`gitward.kube._wire_httpx`.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import aiohttp

Headers = list[tuple[str, str]]

# Requests in flight at once, one HTTP/1.1 connection each. On two cores the API
# server gains nothing from more, and each connection holds ~0.3 MiB of TLS and
# read buffers: 64 of them took 22 MiB, 16 take 8.
_CONNECTIONS = 16


class WireDown(Exception):
    """The server could not be reached, or the connection broke or timed out."""


class Stream(Protocol):
    """A streamed answer: its status, then its body line by line."""

    status: int

    async def read(self) -> bytes: ...

    def lines(self) -> AsyncIterator[bytes]: ...


class Wire(Protocol):
    async def send(
        self, method: str, url: str, headers: Headers, content: bytes
    ) -> tuple[int, bytes]: ...

    def stream(
        self, url: str, headers: Headers, *, timeout: float
    ) -> contextlib.AbstractAsyncContextManager[Stream]: ...

    async def aclose(self) -> None: ...


async def split_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The lines of a byte stream, without their ``\\n``; a last line without one too.

    Lines are cut here rather than by the library, which caps a line's length
    (64 KiB in aiohttp) below the size of a large object's watch event.
    """
    rest = b""
    async for chunk in chunks:
        rest += chunk
        if b"\n" not in chunk:
            continue
        *whole, rest = rest.split(b"\n")
        for line in whole:
            yield line
    if rest:
        yield rest


class _AiohttpStream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.status = response.status
        self._response = response

    async def read(self) -> bytes:
        import aiohttp

        try:
            return await self._response.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise WireDown(_reason(e)) from e

    async def lines(self) -> AsyncIterator[bytes]:
        import aiohttp

        # Only what reading the stream raises is a broken wire: an error of the
        # caller's, raised while it handles a line, is never caught here.
        try:
            async for line in split_lines(self._response.content.iter_any()):
                yield line
        except (aiohttp.ClientError, TimeoutError) as e:
            raise WireDown(_reason(e)) from e


class AiohttpWire:
    """HTTP/1.1 connections to a real API server, made on first use in the running loop."""

    def __init__(self, *, tls: ssl.SSLContext, timeout: float) -> None:
        self._tls = tls
        self._timeout = timeout
        self._requests: aiohttp.ClientSession | None = None
        # Watches hold their connections for minutes: they get a pool of their
        # own, so they never take a request's place.
        self._watches: aiohttp.ClientSession | None = None

    def _session(self, *, limit: int, read_timeout: float | None) -> aiohttp.ClientSession:
        import aiohttp

        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._tls, limit=limit),
            # Waiting for a free connection is not a timeout: only the connect
            # itself and each read are bounded.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=read_timeout),
            # The API server's answers are JSON we read at once; compressing
            # them costs both sides CPU on a local link.
            skip_auto_headers=("Accept-Encoding", "User-Agent"),
            auto_decompress=False,
        )

    async def send(
        self, method: str, url: str, headers: Headers, content: bytes
    ) -> tuple[int, bytes]:
        import aiohttp

        if self._requests is None:
            self._requests = self._session(limit=_CONNECTIONS, read_timeout=self._timeout)
        try:
            async with self._requests.request(
                method, url, headers=headers, data=content or None
            ) as resp:
                return resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise WireDown(_reason(e)) from e

    @contextlib.asynccontextmanager
    async def stream(self, url: str, headers: Headers, *, timeout: float) -> AsyncIterator[Stream]:
        import aiohttp

        if self._watches is None:
            self._watches = self._session(limit=0, read_timeout=None)
        limits = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=timeout)
        try:
            response = await self._watches.get(url, headers=headers, timeout=limits)
        except (aiohttp.ClientError, TimeoutError) as e:
            raise WireDown(_reason(e)) from e
        try:
            yield _AiohttpStream(response)
        finally:
            if not response.content.at_eof():
                # Left half read, the connection can serve nothing else. It is
                # dropped at once: TLS's closing handshake waits for the server
                # to read again, which a watch's server may not do before this
                # process ends, and the socket would outlive its event loop.
                connection = response.connection
                if connection is not None and connection.transport is not None:
                    connection.transport.abort()
            response.release()

    async def aclose(self) -> None:
        if self._watches is not None and self._watches.connector is not None:
            # Open watches are dropped, not closed with TLS's handshake (see stream).
            await self._watches.connector.close(abort_ssl=True)
        for session in (self._requests, self._watches):
            if session is not None:
                await session.close()
        self._requests = self._watches = None


def _reason(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return f"timed out ({e or type(e).__name__})"
    return str(e) or type(e).__name__


__all__ = ["AiohttpWire", "Headers", "Stream", "Wire", "WireDown", "split_lines"]
