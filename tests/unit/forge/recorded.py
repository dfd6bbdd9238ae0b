"""A transport that holds a client to recorded exchanges, in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parents[2] / "fixtures" / "forge"


def exchanges(forge: str, name: str) -> list[dict[str, Any]]:
    doc: list[dict[str, Any]] = json.loads((FIXTURES / forge / f"{name}.json").read_text())
    return doc


class Recorded(httpx.AsyncBaseTransport):
    """Answers each request with the next recorded response, after checking it is the one
    recorded: method, path, query and JSON body."""

    def __init__(self, recorded: list[dict[str, Any]]) -> None:
        self.recorded = list(recorded)
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.recorded, f"unexpected request {request.method} {request.url}"
        exchange = self.recorded.pop(0)
        want, answer = exchange["request"], exchange["response"]
        self.requests.append(request)
        assert request.method == want["method"]
        assert request.url.raw_path.split(b"?")[0].decode() == want["path"]
        assert dict(request.url.params) == want.get("params", {})
        body = json.loads(request.content) if request.content else None
        assert body == want.get("json")
        return httpx.Response(
            answer["status"],
            headers=answer.get("headers", {}),
            content=json.dumps(answer["json"]).encode() if "json" in answer else b"",
        )

    @property
    def done(self) -> bool:
        return not self.recorded
