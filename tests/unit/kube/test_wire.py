"""The wire under the client: lines of a stream, and a server that is not there."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from gitward.kube import Kube
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
