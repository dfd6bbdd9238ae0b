"""The UI beside the JSON API: server time of its pages, and a drift's way to the browser.

Pages: one process serves both the UI and the API (as the controller does) from an
in-memory controller of ``--apps`` apps, one of which manages ``--objects``
Deployments whose live state differs from git, on the in-memory API server.
Each page is fetched ``--rounds`` times over loopback after a warm-up; the
figures are medians and p95 in milliseconds, and the ratio UI/JSON of the
same run. Targets (issue #11): the list of 1,000 apps under 300 ms, the page
of a 1,000-object app under 500 ms.

Drift (``--drifts N``, on the running dev cluster of ``$GITWARD_STATE``): a
real controller serves one app; headless chromium (Debian's, driven by
Playwright) shows its page; N times another field manager scales the app's
Deployment, and the time until the page's drift log shows the new record is
measured beside the time a bare watch sees the change (the floor), in the same
run. Target: p95 under 1 s.

    .venv/bin/python bench/ui_bench.py [--apps 1000] [--objects 1000] [--rounds 30]
    .venv/bin/python bench/ui_bench.py --drifts 20
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from gitward.api.metrics import Registry
from gitward.api.server import serve
from gitward.api.webhooks import WebhookEvent
from gitward.dev.ports import free_port
from gitward.kube import Kube, load_kubeconfig
from gitward.kube.fake import FakeApiServer
from gitward.objects import Body, ObjectRef
from gitward.promote.errors import PromoteInputError
from gitward.promote.rollback import Rollback
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

    def shards(self) -> dict[str, Any]:
        return {"replica": "bench", "shards": 1, "served": [0], "holders": {"0": "bench"}}

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

    def rollback_refusal(self) -> str:
        return "not in a benchmark"

    async def rollback(self, name: str, to: str) -> Rollback:
        raise PromoteInputError(f"app {name}: not in a benchmark")


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


async def drift_to_browser(drifts: int) -> None:

    from gitward.dev import cluster as devcluster

    dev = devcluster.current()
    if dev is None:
        raise SystemExit("no dev cluster: run 'gitward dev up' (with this $GITWARD_STATE) first")
    namespace = f"uibench-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="gitward-uibench-") as tmp:
        repo = Path(tmp) / "config"
        (repo / "app").mkdir(parents=True)
        (repo / "gitward.yaml").write_text(
            yaml.safe_dump({"apps": [{"name": namespace, "path": "app", "namespace": namespace,
                                      "createNamespace": True, "autoSync": True,
                                      "selfHeal": True}]})
        )  # fmt: skip
        # One Deployment per drift: a second drift on one object soon after the
        # first would meet the backoff against a fighting writer.
        (repo / "app" / "web.yaml").write_text(
            yaml.safe_dump_all(
                [deployment(i, 1) | {"metadata": {"name": f"web-{i}"}} for i in range(drifts)]
            )
        )
        env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
               "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b",
               "KUBECONFIG": dev.kubeconfig, "GITWARD_CACHE": str(Path(tmp) / "cache")}  # fmt: skip
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
            subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [str(Path(sys.executable).parent / "gitward"), "controller", "--repo",
                   f"file://{repo}", "--listen", f"127.0.0.1:{port}", "--no-leader-election",
                   "--poll-interval", "600"]  # fmt: skip
        with (Path(tmp) / "controller.log").open("w") as log:
            proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=5) as api:
                for _ in range(600):
                    try:
                        if (await api.get(f"/api/v1/apps/{namespace}")).json().get(
                            "sync"
                        ) == "Synced":
                            break
                    except (httpx.HTTPError, ValueError):
                        pass
                    await asyncio.sleep(0.1)
                else:
                    log_text = (Path(tmp) / "controller.log").read_text()[-2000:]
                    raise SystemExit(f"the app did not sync:\n{log_text}")
            await measure(dev.kubeconfig, url, namespace, drifts)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def measure(kubeconfig: str, url: str, namespace: str, drifts: int) -> None:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    floor: list[float] = []
    shown: list[float] = []
    async with Kube(load_kubeconfig(Path(kubeconfig))) as kube, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = await browser.new_page(bypass_csp=True)  # for wait_for_function
        await page.goto(f"{url}/ui/apps/{namespace}")
        await page.wait_for_selector("#live.on")
        res = await kube.resource_for("apps/v1", "Deployment")
        assert res is not None
        for i in range(drifts):
            rows = await page.locator(".drifts-log tr[data-object]").count()
            live = await kube.get(res, name=f"web-{i}", namespace=namespace)
            assert live is not None
            seen: asyncio.Future[float] = asyncio.get_running_loop().create_future()

            async def watch(
                version: str, seen: asyncio.Future[float] = seen, target: str = f"web-{i}"
            ) -> None:
                async for event in kube.watch(
                    res, namespace=namespace, resource_version=version, timeout_seconds=30
                ):
                    name = event.object["metadata"]["name"]
                    if event.type == "MODIFIED" and name == target and not seen.done():
                        seen.set_result(time.monotonic())
                        return

            watcher = asyncio.create_task(watch(live["metadata"]["resourceVersion"]))
            await asyncio.sleep(0.1)
            t0 = time.monotonic()
            await kube.apply(
                {"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": f"web-{i}", "namespace": namespace},
                 "spec": {"replicas": 2}},
                field_manager="bench-scaler", force=True,
            )  # fmt: skip
            await page.wait_for_function(
                f"document.querySelectorAll('.drifts-log tr[data-object]').length > {rows}",
                polling="raf",
                timeout=10_000,
            )
            shown.append(time.monotonic() - t0)
            floor.append(await asyncio.wait_for(seen, timeout=10) - t0)
            watcher.cancel()
            # Let the correction land before the next drift.
            try:
                await page.wait_for_function(
                    "document.querySelector('.drifts-log .outcome')?.textContent === 'corrected'",
                    timeout=10_000,
                )
            except Exception:
                print(await page.locator(".drifts-log").inner_text(), file=sys.stderr)
                raise
        await browser.close()
    print("| drift to | p50 | p95 |")
    print("| --- | --- | --- |")
    for label, values in (("bare watch (floor)", floor), ("the open page", shown)):
        print(f"| {label} | {statistics.median(values):.3f} s | {p95(values):.3f} s |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--drifts", type=int, default=0, help="measure drift to browser instead")
    args = parser.parse_args()
    if args.drifts:
        asyncio.run(drift_to_browser(args.drifts))
    else:
        asyncio.run(main(args.apps, args.objects, args.rounds))
