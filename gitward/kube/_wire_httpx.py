"""The wire over an ``httpx`` transport that answers in-process: the fake API server.

Unit tests hand one in through :meth:`~gitward.kube.fake.FakeApiServer.kube`; a real API
server is spoken to by :class:`~gitward.kube._wire.AiohttpWire`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from gitward.kube._wire import Headers, Stream, WireDown, split_lines


class _HttpxStream:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self._response = response

    async def read(self) -> bytes:
        return await self._response.aread()

    def lines(self) -> AsyncIterator[bytes]:
        return split_lines(self._response.aiter_bytes())


class HttpxWire:
    def __init__(self, transport: httpx.AsyncBaseTransport, *, timeout: float) -> None:
        self._client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(timeout, connect=10.0)
        )

    async def send(
        self, method: str, url: str, headers: Headers, content: bytes
    ) -> tuple[int, bytes]:
        try:
            resp = await self._client.request(method, url, headers=headers, content=content)
        except httpx.HTTPError as e:
            raise WireDown(str(e) or type(e).__name__) from e
        return resp.status_code, resp.content

    @contextlib.asynccontextmanager
    async def stream(self, url: str, headers: Headers, *, timeout: float) -> AsyncIterator[Stream]:
        try:
            async with self._client.stream(
                "GET", url, headers=headers, timeout=httpx.Timeout(timeout, connect=10.0)
            ) as resp:
                yield _HttpxStream(resp)
        except httpx.HTTPError as e:
            raise WireDown(str(e) or type(e).__name__) from e

    async def aclose(self) -> None:
        await self._client.aclose()


__all__ = ["HttpxWire"]
