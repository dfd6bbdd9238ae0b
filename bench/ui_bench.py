"""The UI beside the JSON API: server time of the app list and of one big app's page.

One process serves both the UI and the API (as the controller does) from an
in-memory controller of ``--apps`` apps, one of which manages ``--objects``
Deployments whose live state differs from git, on the in-memory API server.
Each page is fetched ``--rounds`` times over loopback after a warm-up; the
figures are medians and p95 in milliseconds, and the ratio UI/JSON of the
same run. Targets (issue #11): the list of 1,000 apps under 300 ms, the page
of a 1,000-object app under 500 ms.

    .venv/bin/python bench/ui_bench.py [--apps 1000] [--objects 1000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
import time
from collections.abc import Collection, Sequence
from typing import Any

import httpx

from gitward.api.metrics import Registry
from gitward.api.server import serve
from gitward.api.webhooks import WebhookEvent
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from gitward.objects import Body, ObjectRef
from gitward.source.revisions import Revision
from gitward.web import ObjectState, UiOptions, ui_routes

SHA = "0123456789abcdef0123456789abcdef01234567"
BIG = "big"


def deployment(i: int, replicas: int) -> Body:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"web-{i}", "namespace": "big", "uid": f"uid-{i}"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": f"web-{i}"}},
            "template": {
                "metadata": {"labels": {"app": f"web-{i}"}},
                "spec": {"containers": [{"name": "web", "image": f"example.com/web:{i}"}]},
            },
        },
    }


class Controller:
    """A controller's answers from memory, as :class:`gitward.web.UiSource` asks for them."""

    def __init__(self, kube: Kube, apps: int, objects: int) -> None:
        self.kube = kube
        self.apps = {
            name: {
                "apiVersion": "gitward.io/v1",
                "kind": "App",
                "name": name,
                "sync": "Synced" if i % 7 else "OutOfSync",
                "health": "Healthy" if i % 11 else "Progressing",
                "revision": SHA,
                "lastSyncedAt": "2026-12-02T14:00:00.000Z",
                "lastSyncResult": "succeeded",
                "message": "",
                "fighting": "",
                "autoSync": True,
                "selfHeal": True,
            }
            for i, name in enumerate([BIG, *(f"app-{i:04}" for i in range(apps - 1))])
        }
        self.objs = []
        for i in range(objects):
            desired = deployment(i, 2)
            live = copy.deepcopy(desired)
            live["spec"]["replicas"] = 2 if i % 10 else 3
            live["status"] = {"observedGeneration": 1, "replicas": 2, "availableReplicas": 2}
            self.objs.append(ObjectState(ObjectRef.of(desired), "apps/v1", desired, live))

    def liveness(self) -> str:
        return ""

    def readiness(self) -> str:
        return ""

    def unavailable(self) -> str:
        return ""

    def app_names(self) -> Collection[str]:
        return list(self.apps)

    def app_summary(self, name: str) -> dict[str, Any]:
        return self.apps[name]

    def app_detail(self, name: str) -> dict[str, Any] | None:
        app = self.apps.get(name)
        if app is None:
            return None
        objects = [{"object": str(o.ref), "health": "Healthy"} for o in self.objects(name)]
        return {**app, "objects": objects, "drifts": [], "gitError": ""}

    def drift_records(self, name: str) -> Sequence[dict[str, Any]]:
        return []

    async def history(self, name: str) -> Sequence[dict[str, Any]]:
        return []

    def webhook_secret(self) -> str:
        return ""

    async def on_webhook(self, event: WebhookEvent) -> None:
        return None

    def repo_url(self) -> str:
        return "https://github.com/example/config.git"

    def repo_revision(self) -> Revision | None:
        return Revision(sha=SHA, subject="bench", author="bench")

    def objects(self, name: str) -> Sequence[ObjectState]:
        return self.objs if name == BIG else []

    def request_sync(self, name: str) -> str:
        return "not in a benchmark"

    def request_refresh(self) -> str:
        return "not in a benchmark"


async def timed(client: httpx.AsyncClient, path: str, rounds: int) -> list[float]:
    for _ in range(3):
        (await client.get(path)).raise_for_status()
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        (await client.get(path)).raise_for_status()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def main(apps: int, objects: int, rounds: int) -> None:
    fake = FakeApiServer(namespaces=("default", "big"))
    async with fake.kube() as kube:
        source = Controller(kube, apps, objects)
        server = await serve(
            port=0,
            source=source,
            registry=Registry(),
            routes=ui_routes(source, UiOptions(token="", open_reads=True)),
        )
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60) as client:
                pairs = [
                    (f"list of {apps} apps", "/ui/", "/api/v1/apps"),
                    (f"app of {objects} objects", f"/ui/apps/{BIG}", f"/api/v1/apps/{BIG}"),
                ]
                print("| page | UI median | UI p95 | JSON median | JSON p95 | UI/JSON |")
                print("| --- | --- | --- | --- | --- | --- |")
                for label, ui, api in pairs:
                    ui_ms = await timed(client, ui, rounds)
                    api_ms = await timed(client, api, rounds)
                    ratio = statistics.median(ui_ms) / statistics.median(api_ms)
                    print(
                        f"| {label} | {statistics.median(ui_ms):.0f} ms | {p95(ui_ms):.0f} ms "
                        f"| {statistics.median(api_ms):.0f} ms | {p95(api_ms):.0f} ms "
                        f"| {ratio:.1f}x |"
                    )
        finally:
            await server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.apps, args.objects, args.rounds))
