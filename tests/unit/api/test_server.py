"""The HTTP API on a real socket: every endpoint, through httpx and raw bytes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema

from gitward.api import openapi
from gitward.api.metrics import Registry, controller_metrics
from gitward.api.protocols import SourceError
from gitward.api.server import MAX_BODY_BYTES, ApiServer, routes, serve
from gitward.api.webhooks import WebhookEvent

SECRET = "hook-secret"
PUSH = json.dumps({"ref": "refs/heads/main", "after": "a" * 40}).encode()


@dataclass
class FakeSource:
    """A StatusSource with canned answers that records the webhooks it receives."""

    apps: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "infra": {"name": "infra", "sync": "Synced", "health": "Healthy"},
            "shop": {"name": "shop", "sync": "OutOfSync", "health": "Progressing"},
            "my app": {"name": "my app", "sync": "Synced", "health": "Healthy"},
        }
    )
    drifts: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"shop": [{"object": "Deployment/shop/web", "action": "reverted"}]}
    )
    histories: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"shop": [{"revision": "a" * 40, "outcome": "succeeded"}]}
    )
    secret: str = SECRET
    not_ready: str = ""
    down: str = ""
    standby: str = ""
    broken: bool = False
    history_error: SourceError | None = None
    webhook_error: SourceError | None = None
    events: list[WebhookEvent] = field(default_factory=list)

    def liveness(self) -> str:
        return self.down

    def readiness(self) -> str:
        return self.not_ready

    def unavailable(self) -> str:
        return self.standby

    def app_names(self) -> Collection[str]:
        if self.broken:
            raise RuntimeError("controller state is gone")
        return list(self.apps)

    def app_summary(self, name: str) -> dict[str, Any]:
        return self.apps[name]

    def app_detail(self, name: str) -> dict[str, Any] | None:
        app = self.apps.get(name)
        return None if app is None else app | {"objects": [f"Deployment/{name}/web"]}

    def drift_records(self, name: str) -> Sequence[dict[str, Any]]:
        return self.drifts.get(name, [])

    async def history(self, name: str) -> Sequence[dict[str, Any]]:
        await asyncio.sleep(0)
        if self.history_error is not None:
            raise self.history_error
        return self.histories.get(name, [])

    def webhook_secret(self) -> str:
        return self.secret

    async def on_webhook(self, event: WebhookEvent) -> None:
        if self.webhook_error is not None:
            raise self.webhook_error
        self.events.append(event)


Scenario = Callable[[httpx.AsyncClient, ApiServer], Awaitable[None]]


def run(
    scenario: Scenario, source: FakeSource, *, read_timeout: float = 5.0, token: str = ""
) -> None:
    """Serve ``source`` on a free port and run ``scenario`` against it."""
    registry = Registry()
    controller_metrics(registry).leader.set(1)

    async def main() -> None:
        server = await serve(
            host="127.0.0.1",
            port=0,
            source=source,
            registry=registry,
            read_timeout=read_timeout,
            token=token,
        )
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as client:
                await scenario(client, server)
        finally:
            await server.close()

    asyncio.run(main())


async def raw(port: int, data: bytes, *, close_write: bool = False) -> bytes:
    """Send ``data`` on a fresh connection and read the answer until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        if close_write:
            writer.write_eof()
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()


def github_headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={signature}"}


def validate(doc: Any, schema: str) -> None:
    """Check ``doc`` against a component schema of the OpenAPI document."""
    components = openapi.document()["components"]
    jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": components}
    ).validate(doc)


# --- probes and metrics -------------------------------------------------------------


def test_healthz_answers_ok() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/healthz")
        assert (response.status_code, response.text) == (200, "ok")
        assert response.headers["connection"] == "close"

    run(scenario, FakeSource(not_ready="standby: cannot read the Lease"))


def test_healthz_is_503_with_the_reason_while_a_task_is_down() -> None:
    source = FakeSource(down="reconcile loop: died: ValueError: boom")

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/healthz")
        assert (response.status_code, response.text) == (503, source.down)
        source.down = ""
        assert (await client.get("/healthz")).status_code == 200

    run(scenario, source)


def test_readyz_follows_the_source_and_says_why_not() -> None:
    source = FakeSource(not_ready="leader: the first reconcile has not finished")

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.text == "not ready: leader: the first reconcile has not finished"
        source.not_ready = ""
        assert (await client.get("/readyz")).status_code == 200

    run(scenario, source)


def test_metrics_are_served_as_prometheus_text() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE gitward_leader gauge\ngitward_leader 1\n" in response.text

    run(scenario, FakeSource())


# --- apps ---------------------------------------------------------------------------


def test_apps_lists_every_summary_in_the_sources_order() -> None:
    source = FakeSource()

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/api/v1/apps")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"apps": list(source.apps.values())}
        validate(response.json(), "AppList")

    run(scenario, source)


def test_app_detail_and_unknown_app() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/api/v1/apps/shop")
        assert response.status_code == 200
        assert response.json()["objects"] == ["Deployment/shop/web"]
        validate(response.json(), "AppDetail")

        missing = await client.get("/api/v1/apps/nope")
        assert missing.status_code == 404
        assert missing.json() == {"error": "app nope not found"}
        validate(missing.json(), "Error")

    run(scenario, FakeSource())


def test_app_names_in_the_path_are_percent_decoded() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/api/v1/apps/my%20app")
        assert response.json()["name"] == "my app"

    run(scenario, FakeSource())


def test_drifts_and_history_of_an_app() -> None:
    source = FakeSource()

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        drifts = await client.get("/api/v1/apps/shop/drifts")
        assert drifts.json() == {"drifts": source.drifts["shop"]}
        validate(drifts.json(), "DriftList")
        history = await client.get("/api/v1/apps/shop/history")
        assert history.json() == {"history": source.histories["shop"]}
        validate(history.json(), "History")
        empty = await client.get("/api/v1/apps/infra/history")
        assert empty.json() == {"history": []}

    run(scenario, source)


def test_drifts_and_history_of_an_unknown_app_are_404() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        for path in ("/api/v1/apps/nope/drifts", "/api/v1/apps/nope/history"):
            response = await client.get(path)
            assert (response.status_code, response.json()) == (404, {"error": "app nope not found"})

    run(scenario, FakeSource())


def test_a_standby_answers_every_app_route_with_503_naming_the_leader() -> None:
    source = FakeSource(standby="standby: the leader is gitward-7d9f-abcde; ask it")

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        for path in (
            "/api/v1/apps",
            "/api/v1/apps/shop",
            "/api/v1/apps/shop/drifts",
            "/api/v1/apps/shop/history",
        ):
            response = await client.get(path)
            assert (response.status_code, response.json()) == (503, {"error": source.standby})
            validate(response.json(), "Error")
        # The probes and metrics still answer: a healthy standby is alive and ready.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200

    run(scenario, source)


def test_a_webhook_the_source_cannot_take_is_answered_with_its_reason() -> None:
    source = FakeSource(webhook_error=SourceError("webhook github: standby: the leader is a"))

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        hook = await client.post(
            "/api/v1/webhooks/github", content=PUSH, headers=github_headers(PUSH)
        )
        assert (hook.status_code, hook.json()) == (
            503,
            {"error": "webhook github: standby: the leader is a"},
        )

    run(scenario, source)


def test_a_known_failure_of_the_source_is_answered_with_its_status_and_reason() -> None:
    unreachable = "app shop: history unavailable: ConfigMap/gitward-system/x: connection refused"
    source = FakeSource(history_error=SourceError(unreachable, status=503))

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/api/v1/apps/shop/history")
        assert (response.status_code, response.json()) == (503, {"error": unreachable})
        corrupt = "ConfigMap/gitward-system/gitward-history-shop: not a valid gitward record"
        source.history_error = SourceError(corrupt, status=500)
        response = await client.get("/api/v1/apps/shop/history")
        assert (response.status_code, response.json()) == (500, {"error": corrupt})

    run(scenario, source)


# --- authentication -----------------------------------------------------------------

TOKEN = "api-token-0123456789"


def test_with_a_token_every_route_but_the_probes_and_webhooks_needs_it() -> None:
    source = FakeSource()

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        guarded = ["/api/v1/apps", "/api/v1/apps/shop", "/api/v1/apps/shop/history", "/metrics"]
        for path in [*guarded, "/openapi.json"]:
            for headers in (
                {},
                {"Authorization": "Bearer wrong-token"},
                {"Authorization": f"Basic {TOKEN}"},
                {"Authorization": f"Bearer {TOKEN}x"},
            ):
                refused = await client.get(path, headers=headers)
                assert refused.status_code == 401, (path, headers)
                assert refused.headers["www-authenticate"] == 'Bearer realm="gitward"'
                assert refused.json()["error"].startswith(f"GET {path}: unauthorized")
            ok = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 200, path
        lower = await client.get("/api/v1/apps", headers={"authorization": f"bearer {TOKEN}"})
        assert lower.status_code == 200, "the scheme is case-insensitive"
        for probe in ("/healthz", "/readyz"):
            assert (await client.get(probe)).status_code == 200
        hook = await client.post(
            "/api/v1/webhooks/github", content=PUSH, headers=github_headers(PUSH)
        )
        assert hook.status_code == 202, "webhooks are verified by their own signature"

    run(scenario, source, token=TOKEN)
    assert len(source.events) == 1


def test_without_a_token_the_api_is_open() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        assert (await client.get("/api/v1/apps")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200

    run(scenario, FakeSource())


# --- webhooks -----------------------------------------------------------------------


def test_a_verified_webhook_is_accepted_and_handed_over_once() -> None:
    source = FakeSource()

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.post(
            "/api/v1/webhooks/github", content=PUSH, headers=github_headers(PUSH)
        )
        assert (response.status_code, response.json()) == (202, {"accepted": True})
        validate(response.json(), "WebhookAccepted")

    run(scenario, source)
    assert source.events == [WebhookEvent("github", "push", "refs/heads/main", "a" * 40)]


def test_a_badly_signed_webhook_is_401_and_not_handed_over() -> None:
    source = FakeSource()

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        wrong = await client.post(
            "/api/v1/webhooks/github", content=PUSH, headers=github_headers(PUSH, "guess")
        )
        assert wrong.status_code == 401
        assert wrong.json() == {"error": "webhook github: signature did not verify"}
        unsigned = await client.post("/api/v1/webhooks/gitlab", content=PUSH)
        assert unsigned.status_code == 401

    run(scenario, source)
    assert source.events == []


def test_webhooks_without_a_secret_are_503() -> None:
    source = FakeSource(secret="")

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.post(
            "/api/v1/webhooks/generic", headers={"Authorization": "Bearer x"}
        )
        assert (response.status_code, response.json()) == (
            503,
            {"error": "webhooks are not configured"},
        )

    run(scenario, source)
    assert source.events == []


def test_a_webhook_for_an_unknown_forge_is_404() -> None:
    source = FakeSource()

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.post(
            "/api/v1/webhooks/sourcehut", content=PUSH, headers=github_headers(PUSH)
        )
        assert response.status_code == 404
        assert response.json()["error"].startswith("webhook forge sourcehut unknown")

    run(scenario, source)
    assert source.events == []


def test_a_body_over_one_mebibyte_is_413() -> None:
    source = FakeSource()

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        for size in (MAX_BODY_BYTES + 1, 6 * MAX_BODY_BYTES):
            # The larger body outgrows the socket buffers: the client is still sending
            # when the answer comes, and must receive it rather than a reset.
            response = await client.post("/api/v1/webhooks/github", content=b"x" * size)
            assert response.status_code == 413
            assert "the limit is 1048576" in response.json()["error"]
        announced = await raw(
            server.port,
            b"POST /api/v1/webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n",
            close_write=True,
        )
        assert announced.startswith(b"HTTP/1.1 413 ")
        exact = b"{" + b" " * (MAX_BODY_BYTES - 2) + b"}"
        ok = await client.post(
            "/api/v1/webhooks/generic", content=exact, headers={"Authorization": f"Bearer {SECRET}"}
        )
        assert ok.status_code == 202

    run(scenario, source)
    assert source.events == [WebhookEvent("generic", "push")]


# --- routing and errors -------------------------------------------------------------


def test_unknown_paths_are_404_and_wrong_methods_405() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        missing = await client.get("/api/v2/apps")
        assert (missing.status_code, missing.json()) == (404, {"error": "/api/v2/apps: not found"})
        assert (await client.get("/api/v1/apps/")).status_code == 404
        assert (await client.get("//api/v1/apps")).status_code == 404
        assert (await client.get("/healthz?verbose=1")).text == "ok"

        post = await client.post("/healthz")
        assert post.status_code == 405
        assert post.headers["allow"] == "GET"
        get = await client.get("/api/v1/webhooks/github")
        assert (get.status_code, get.headers["allow"]) == (405, "POST")

    run(scenario, FakeSource())


def test_a_failing_handler_is_500_and_the_server_keeps_serving() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        failed = await client.get("/api/v1/apps")
        assert failed.status_code == 500
        assert failed.json() == {
            "error": "GET /api/v1/apps: internal error; see the controller log"
        }
        assert (await client.get("/healthz")).status_code == 200

    run(scenario, FakeSource(broken=True))


def test_a_slow_client_gets_408() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        answer = await raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"not received within 0.2s" in answer

    run(scenario, FakeSource(), read_timeout=0.2)


def test_malformed_requests_are_rejected_before_routing() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        cases = {
            b"GARBAGE\r\n\r\n": b"400",
            b"GET healthz HTTP/1.1\r\n\r\n": b"400",
            b"GET /healthz HTTP/2.0\r\n\r\n": b"505",
            b"GET /healthz HTTP/1.1\r\nno colon\r\n\r\n": b"400",
            b"POST /api/v1/webhooks/generic HTTP/1.1\r\nContent-Length: -1\r\n\r\n": b"400",
            b"POST /api/v1/webhooks/generic HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n": b"501",
            b"GET /healthz HTTP/1.1\r\nX: " + b"y" * 70_000 + b"\r\n\r\n": b"431",
            b"POST /api/v1/webhooks/generic HTTP/1.1\r\nContent-Length: "
            + b"9" * 5000
            + b"\r\n\r\n": b"413",
        }
        for request, status in cases.items():
            answer = await raw(server.port, request, close_write=True)
            assert answer.startswith(b"HTTP/1.1 " + status + b" "), (request[:40], answer[:80])

    run(scenario, FakeSource())


def test_close_drops_idle_connections() -> None:
    async def main() -> None:
        server = await serve(host="127.0.0.1", port=0, source=FakeSource(), registry=Registry())
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        async with asyncio.timeout(2):
            await server.close()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()

    asyncio.run(main())


# --- OpenAPI ------------------------------------------------------------------------


def test_openapi_describes_exactly_the_served_routes() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/openapi.json")
        assert response.status_code == 200
        doc = response.json()
        assert doc["openapi"].startswith("3.1")
        described = {
            (method.upper(), path)
            for path, item in doc["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        }
        assert described == {(route.method, route.template) for route in server.routes}

    run(scenario, FakeSource())


def test_openapi_marks_public_exactly_the_routes_served_without_a_token() -> None:
    doc = openapi.document()
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    public = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post") and operation.get("security") == []
    }
    served = {(r.method, r.template) for r in routes(FakeSource(), Registry()) if r.public}
    assert (
        public
        == served
        == {
            ("GET", "/healthz"),
            ("GET", "/readyz"),
            ("POST", "/api/v1/webhooks/{forge}"),
        }
    )
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "get" and (method.upper(), path) not in public:
                assert "401" in operation["responses"], path


def test_openapi_schemas_are_valid_and_every_reference_resolves() -> None:
    doc = openapi.document()
    schemas = doc["components"]["schemas"]
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    text = json.dumps(doc)
    referenced = {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}
    assert referenced == set(schemas)
