"""The UI on a real socket, against a fake controller and the in-memory API server."""

from __future__ import annotations

import asyncio
import base64
import copy
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from gitward.api.metrics import Registry
from gitward.api.server import serve
from gitward.api.webhooks import WebhookEvent
from gitward.forge.models import PullRequest, PullState
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from gitward.objects import Body, ObjectRef
from gitward.promote.rollback import Rollback, RollbackOutcome
from gitward.record.history import SyncOutcome, SyncRecord
from gitward.source.revisions import Revision
from gitward.web import ObjectState, UiOptions, UsersSecret, ui_routes

TOKEN = "ui-token-0123456789abcdef"
SECRET_VALUE = "hunter2-very-secret"
SHA = "0123456789abcdef0123456789abcdef01234567"
OLD_SHA = "fedcba9876543210fedcba9876543210fedcba98"

DEPLOYMENT: Body = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
}
SECRET: Body = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "shop"},
    "data": {"password": base64.b64encode(SECRET_VALUE.encode()).decode()},
}


@dataclass
class FakeUi:
    """A UiSource with canned apps whose objects live in a fake API server."""

    kube: Kube
    objs: list[ObjectState] = field(default_factory=list)
    drifts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    apps: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "shop": {
                "name": "shop",
                "sync": "OutOfSync",
                "health": "Healthy",
                "revision": SHA,
                "charts": ["web@1.2.0 (commit 020ccccccccc)", "worker@0.1.0"],
            },
            "infra": {"name": "infra", "sync": "Synced", "health": "Healthy", "revision": SHA},
        }
    )
    synced: list[str] = field(default_factory=list)
    #: Why rollbacks are off ("" when on), what was asked, and how the next one fails.
    refusal: str = ""
    rollbacks: list[tuple[str, str]] = field(default_factory=list)
    rollback_error: Exception | None = None

    def liveness(self) -> str:
        return ""

    def readiness(self) -> str:
        return ""

    def unavailable(self) -> str:
        return ""

    def shards(self) -> dict[str, Any]:
        return {"replica": "r0", "shards": 2, "served": [1], "holders": {"0": "r1", "1": "r0"}}

    def app_names(self) -> Collection[str]:
        return list(self.apps)

    def app_summary(self, name: str) -> dict[str, Any]:
        return self.apps[name]

    def app_detail(self, name: str) -> dict[str, Any] | None:
        return self.apps.get(name)

    def drift_records(self, name: str) -> Sequence[dict[str, Any]]:
        return self.drifts.get(name, [])

    async def history(self, name: str) -> Sequence[dict[str, Any]]:
        return [
            {
                "revision": SHA,
                "author": "Ann",
                "subject": "web: 2 replicas",
                "result": "succeeded",
                "startedAt": "2026-01-01T00:00:00",
                "charts": ["web@1.0.0"],
                "message": "",
                "actions": [{"object": "Deployment/shop/web", "outcome": "configured"}],
            },
            {
                "revision": OLD_SHA,
                "author": "Bob",
                "subject": "web: 1 replica",
                "result": "succeeded",
                "startedAt": "2025-12-31T00:00:00",
                "charts": ["web@0.9.0"],
                "message": "",
                "actions": [],
            },
        ]

    def webhook_secret(self) -> str:
        return ""

    async def on_webhook(self, event: WebhookEvent) -> None:
        return None

    def repo_url(self) -> str:
        return "https://github.com/example/config.git"

    def repo_revision(self) -> Revision | None:
        return Revision(sha=SHA, ref="refs/heads/main", author="Ann", subject="web: 2 replicas")

    def objects(self, name: str) -> Sequence[ObjectState]:
        return self.objs if name == "shop" else []

    def request_sync(self, name: str) -> str:
        self.synced.append(name)
        return ""

    def request_refresh(self) -> str:
        return ""

    def rollback_refusal(self) -> str:
        return self.refusal

    async def rollback(self, name: str, to: str) -> Rollback:
        self.rollbacks.append((name, to))
        if self.rollback_error is not None:
            raise self.rollback_error

        def synced(revision: str) -> SyncRecord:
            return SyncRecord(name, revision, "refs/heads/main", "Ann", "s", "2026-01-01", 1.0,
                              SyncOutcome.SUCCEEDED)  # fmt: skip

        pull = PullRequest(
            number=7, title=f"Roll back {name} to {to[:12]}", body="", head="h", base="main",
            head_sha=OLD_SHA, state=PullState.OPEN, url="https://forge.example/o/r/pulls/7",
        )  # fmt: skip
        return Rollback(RollbackOutcome.OPENED, name, synced(SHA), synced(to),
                        "gitward/rollback/shop", ("apps/shop/Chart.yaml",), pull)  # fmt: skip


Scenario = Callable[[httpx.AsyncClient, FakeUi], Awaitable[None]]


async def seed(kube: Kube) -> list[ObjectState]:
    """A Deployment with a ReplicaSet and a Pod under it, and a Secret, in the cluster."""
    live = await kube.apply(copy.deepcopy(DEPLOYMENT) | {"spec": {"replicas": 5}}, force=True)
    uid = live["metadata"]["uid"]
    rs = await kube.apply(
        {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": {"name": "web-7d9f", "namespace": "shop",
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                           "name": "web", "uid": uid}]}},
        force=True,
    )  # fmt: skip
    await kube.apply(
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "web-7d9f-x1", "namespace": "shop",
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                           "name": "web-7d9f", "uid": rs["metadata"]["uid"]}]}},
        force=True,
    )  # fmt: skip
    await kube.create(
        {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": "shop"},
         "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "shop", "uid": uid},
         "reason": "ScalingReplicaSet", "message": "Scaled up to 5", "type": "Normal"}
    )  # fmt: skip
    other = copy.deepcopy(SECRET)
    other["data"]["password"] = base64.b64encode(b"another-secret-value").decode()
    live_secret = await kube.apply(other, force=True)
    return [
        ObjectState(ObjectRef.of(DEPLOYMENT), "apps/v1", DEPLOYMENT, live),
        ObjectState(ObjectRef.of(SECRET), "v1", SECRET, live_secret),
    ]


def run(
    scenario: Scenario,
    *,
    open_reads: bool = True,
    token: str = TOKEN,
    users: UsersSecret | None = None,
    prepare: Callable[[Kube], Awaitable[object]] | None = None,
) -> FakeUi:
    fake = FakeApiServer(namespaces=("default", "shop", "gitward-system"))

    async def main() -> FakeUi:
        async with fake.kube() as kube:
            source = FakeUi(kube=kube)
            source.objs = await seed(kube)
            if prepare is not None:
                await prepare(kube)
            options = UiOptions(token=token, open_reads=open_reads, users=users)
            server = await serve(
                port=0,
                source=source,
                registry=Registry(),
                token=token,
                routes=ui_routes(source, options),
            )
            try:
                base = f"http://127.0.0.1:{server.port}"
                async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as client:
                    await scenario(client, source)
            finally:
                await server.close()
        return source

    return asyncio.run(main())


async def login(client: httpx.AsyncClient) -> str:
    """Log in; the CSRF token of the new session."""
    answer = await client.post("/ui/login", data={"token": TOKEN})
    assert answer.status_code == 303
    page = (await client.get("/ui/apps/shop")).text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match[1]


def test_the_list_shows_each_app_with_its_status_and_filters_by_status() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        page = await client.get("/ui/")
        assert page.status_code == 200
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert 'data-app="shop"' in page.text and 'data-app="infra"' in page.text
        assert 'data-sync="OutOfSync"' in page.text
        assert "web: 2 replicas" in page.text
        assert f"https://github.com/example/config/commit/{SHA}" in page.text
        assert "<code>web@1.2.0 (commit 020ccccccccc)</code>" in page.text
        assert "<code>worker@0.1.0</code>" in page.text
        rows = await client.get("/ui/", params={"part": "rows", "sync": "OutOfSync"})
        assert 'data-app="shop"' in rows.text and 'data-app="infra"' not in rows.text
        assert "<html" not in rows.text, "a part is only the rows"
        by_name = await client.get("/ui/", params={"part": "rows", "q": "INF"})
        assert 'data-app="infra"' in by_name.text and 'data-app="shop"' not in by_name.text

    run(scenario)


def test_the_app_page_shows_the_tree_by_owner_the_diff_and_no_secret_value() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        page = await client.get("/ui/apps/shop")
        assert page.status_code == 200
        text = page.text
        tree = text[text.index('class="tree"') :]
        deployment = tree.index('data-ref="Deployment/shop/web"')
        replicaset = tree.index('data-ref="ReplicaSet/shop/web-7d9f"')
        pod = tree.index('data-ref="Pod/shop/web-7d9f-x1"')
        assert deployment < replicaset < pod
        assert "replicas: 5" in text and "replicas: 2" in text
        assert "<code>spec.replicas</code>" in text
        assert "&lt;masked&gt; (old)" in text
        assert "Scaled up to 5" in text
        assert "web@1.0.0" in text
        for secret in (SECRET_VALUE, SECRET["data"]["password"], "another-secret-value"):
            assert secret not in text
        split = await client.get("/ui/apps/shop/parts/diff", params={"view": "split"})
        assert 'class="hunk split"' in split.text

    run(scenario)


def test_bad_requests_get_a_clear_4xx() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        missing = await client.get("/ui/apps/nope")
        assert (missing.status_code, missing.json()) == (404, {"error": "app nope not found"})
        part = await client.get("/ui/apps/shop/parts/secrets")
        assert part.status_code == 404 and "part secrets unknown" in part.json()["error"]
        huge = await client.post("/ui/login", content=b"token=" + b"x" * (64 << 10))
        assert huge.status_code == 413
        assert "Traceback" not in huge.text

    run(scenario)


def test_an_action_needs_a_login_and_its_csrf_token() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        anonymous = await client.post("/ui/apps/shop/sync")
        assert anonymous.status_code == 401
        wrong = await client.post("/ui/login", data={"token": "guess"})
        assert wrong.status_code == 401 and "gitward_session" not in wrong.headers.get(
            "set-cookie", ""
        )
        answer = await client.post("/ui/login", data={"token": TOKEN})
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        csrf = await login(client)
        assert (await client.post("/ui/apps/shop/sync")).status_code == 403, "no CSRF token"
        forged = await client.post(
            "/ui/apps/shop/sync",
            data={"csrf": csrf},
            headers={"Origin": "https://evil.example"},
        )
        assert forged.status_code == 403, "another origin"
        done = await client.post("/ui/apps/shop/sync", data={"csrf": csrf})
        assert done.status_code == 303
        assert source.synced == ["shop"]
        for path in ("/ui/", "/ui/apps/shop", "/ui/login"):
            assert TOKEN not in (await client.get(path)).text

    source = run(scenario)
    assert source.synced == ["shop"]


def test_without_an_api_token_no_action_runs() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        refused = await client.post("/ui/apps/shop/sync", data={"csrf": "x"})
        assert refused.status_code == 403
        assert "neither an API token nor a users Secret" in refused.json()["error"]

    assert run(scenario, token="").synced == []


def test_off_loopback_every_page_needs_a_login() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        page = await client.get("/ui/apps/shop")
        assert (page.status_code, page.headers["location"]) == (303, "/ui/login")
        assert (await client.get("/ui/apps/shop/parts/diff")).status_code == 401
        assert (await client.get("/ui/stream")).status_code == 401
        bearer = await client.get("/ui/", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bearer.status_code == 200
        await login(client)
        assert (await client.get("/ui/apps/shop")).status_code == 200

    run(scenario, open_reads=False)


def test_the_stream_names_an_app_within_a_second_of_its_change() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        async with client.stream("GET", "/ui/stream", params={"app": "shop"}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert await anext(lines) == "retry: 1000"
            await asyncio.sleep(0.3)
            source.drifts["shop"] = [{"object": "Deployment/shop/web", "outcome": "pending"}]
            async with asyncio.timeout(1.0):
                while await anext(lines) != "event: change":
                    pass
                assert await anext(lines) == 'data: ["shop"]'

    run(scenario)


def test_the_drift_log_marks_the_writer_the_app_is_fighting_with() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        source.apps["shop"]["fighting"] = (
            "fighting with field manager hpa over Deployment/shop/web; backing off"
        )
        source.drifts["shop"] = [
            {"object": "Deployment/shop/web", "actor": "hpa", "outcome": "pending"},
            {"object": "Deployment/shop/web", "actor": "kubectl", "outcome": "corrected"},
        ]
        log = (await client.get("/ui/apps/shop/parts/drifts")).text
        assert log.count("is-fighting") == 1
        assert log.index("is-fighting") < log.index("kubectl")

    run(scenario)


def test_an_apps_stream_carries_its_drift_log_drawn_before_the_change() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        async with client.stream("GET", "/ui/stream", params={"app": "shop"}) as stream:
            lines = stream.aiter_lines()
            assert await anext(lines) == "retry: 1000"
            await asyncio.sleep(0.3)
            source.drifts["shop"] = [
                {"object": "Deployment/shop/web", "actor": "<kubectl>", "outcome": "pending"}
            ]
            async with asyncio.timeout(1.0):
                while (line := await anext(lines)) == "":
                    pass
                assert line == "event: drifts"
                html = []
                while (line := await anext(lines)) != "":
                    assert line.startswith("data: ")
                    html.append(line.removeprefix("data: "))
                assert await anext(lines) == "event: change"
        drawn = "\n".join(html)
        assert 'data-object="Deployment/shop/web"' in drawn
        assert "&lt;kubectl&gt;" in drawn and "<kubectl>" not in drawn, "escaped"
        page = (await client.get("/ui/apps/shop")).text
        assert '<div id="drifts-body">' in page

    run(scenario)
