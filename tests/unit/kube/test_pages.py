"""Lists read a page at a time, against an in-process fake API server that pages."""

from __future__ import annotations

import httpx

from gitward.kube import Kube
from tests.unit.kube.configmaps_only import discovery, run


class PagingServer:
    """``count`` ConfigMaps, served ``limit`` at a time with continue tokens."""

    def __init__(self, count: int) -> None:
        self.names = [f"cm-{i:04d}" for i in range(count)]
        self.asked: list[dict[str, str]] = []  # the query of every list request

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = discovery(request, verbs=["list", "watch"])
        if answer is not None:
            return answer
        query = dict(request.url.params)
        self.asked.append(query)
        start = int(query.get("continue") or 0)
        end = start + int(query["limit"])
        meta: dict[str, str] = {"resourceVersion": "42"}
        if end < len(self.names):
            meta["continue"] = str(end)
        items = [{"metadata": {"name": n, "namespace": "a"}} for n in self.names[start:end]]
        return httpx.Response(200, json={"kind": "ConfigMapList", "metadata": meta, "items": items})


def test_each_page_is_handed_over_before_the_next_is_asked_for() -> None:
    server = PagingServer(1_200)

    async def go(kube: Kube) -> list[tuple[int, int, str]]:
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        seen = []
        async for page, version in kube.pages(res):
            # The server has answered only the requests up to this page.
            seen.append((len(page), len(server.asked), version))
            assert all(item["kind"] == "ConfigMap" for item in page)
        return seen

    assert run(server, go) == [(500, 1, "42"), (500, 2, "42"), (200, 3, "42")]
    assert [q.get("continue") for q in server.asked] == [None, "500", "1000"]


def test_a_list_gathers_every_page_with_the_lists_version() -> None:
    server = PagingServer(1_001)

    async def go(kube: Kube) -> tuple[list[str], str]:
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        items, version = await kube.list(res)
        return [i["metadata"]["name"] for i in items], version

    names, version = run(server, go)
    assert names == server.names
    assert version == "42"
    assert len(server.asked) == 3


def test_a_list_that_fits_one_page_is_one_request() -> None:
    server = PagingServer(3)

    async def go(kube: Kube) -> int:
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        return sum([len(page) async for page, _ in kube.pages(res)])

    assert run(server, go) == 3
    assert len(server.asked) == 1
