"""A separate client: same server and user agent, connections of its own."""

from __future__ import annotations

import asyncio

import httpx

from gitward.kube import Kube, KubeConfig


def test_a_separate_client_sends_the_same_user_agent_and_outlives_the_first() -> None:
    agents: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        agents.append(request.headers["User-Agent"])
        return httpx.Response(200, json={"major": "1", "minor": "35"})

    async def go() -> None:
        first = Kube(
            KubeConfig(server="https://api.invalid"),
            transport=httpx.MockTransport(handle),
            user_agent="gitward-controller/host_1",
        )
        second = first.separate()
        await first.aclose()
        await second.version()  # still open: its connections are its own
        await second.aclose()

    asyncio.run(go())
    assert agents == ["gitward-controller/host_1"]
