"""The wire under the client: lines of a stream, and a server that is not there."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gitward.kube import Kube
from gitward.kube._transport import Transport
from gitward.kube._wire import split_lines
from gitward.kube.errors import Unavailable
from gitward.kube.kubeconfig import KubeConfig


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _lines(*parts: bytes) -> list[bytes]:
    return [line async for line in split_lines(_chunks(*parts))]


def test_lines_are_joined_across_chunks_whatever_their_length() -> None:
    big = b"a" * 300_000
    got = asyncio.run(_lines(b'{"one"', b":1}\n" + big[:100], big[100:] + b"\n", b"tail"))
    assert got == [b'{"one":1}', big, b"tail"]


def test_empty_lines_are_kept_and_a_final_newline_adds_none() -> None:
    assert asyncio.run(_lines(b"a\n\nb\n")) == [b"a", b"", b"b"]
    assert asyncio.run(_lines()) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_that_is_not_there_is_unavailable_and_not_ready() -> None:
    server = f"https://127.0.0.1:{_closed_port()}"

    async def go() -> tuple[bool, str]:
        async with Kube(KubeConfig(server=server), timeout=5) as kube:
            ready = await kube.ready()
            with pytest.raises(Unavailable) as caught:
                await kube.version()
            return ready, str(caught.value)

    ready, message = asyncio.run(go())
    assert not ready
    assert message.startswith(f"version: API server {server} unreachable: ")


async def _serve_stream(handler: Any) -> tuple[Any, str]:
    from aiohttp import web

    app = web.Application()
    app.router.add_get("/stream", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def test_a_stream_over_aiohttp_gives_its_lines_and_a_cut_one_breaks_the_wire() -> None:
    from aiohttp import web

    async def cut_short(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b'{"n":1}\n{"n":2}\n')
        # Dropping the connection mid-body: the chunked stream never ends.
        assert request.transport is not None
        request.transport.close()
        return resp

    async def go() -> tuple[list[bytes], str]:
        runner, server = await _serve_stream(cut_short)
        got: list[bytes] = []
        try:
            wire = Transport(KubeConfig(server=server), timeout=5)
            with pytest.raises(Unavailable) as broke:
                async with wire.lines("/stream", subject="watch", params={}, timeout=5) as lines:
                    async for line in lines:
                        got.append(line)
            await wire.aclose()
        finally:
            await runner.cleanup()
        return got, str(broke.value)

    got, message = asyncio.run(go())
    assert got == [b'{"n":1}', b'{"n":2}']
    assert message.startswith("watch: stream broke: ")


def test_an_error_of_the_callers_while_it_reads_a_stream_is_its_own() -> None:
    from aiohttp import web

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b'{"n":1}\n')
        await asyncio.sleep(30)
        return resp

    async def go() -> None:
        runner, server = await _serve_stream(endless)
        try:
            wire = Transport(KubeConfig(server=server), timeout=5)
            # A TimeoutError of the caller's must not pass for a broken wire.
            with pytest.raises(TimeoutError):
                async with wire.lines("/stream", subject="watch", params={}, timeout=5) as lines:
                    async for _ in lines:
                        raise TimeoutError("the caller's own")
            await wire.aclose()
        finally:
            await runner.cleanup()

    asyncio.run(go())
