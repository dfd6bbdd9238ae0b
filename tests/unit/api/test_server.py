"""The HTTP API on a real socket (uvicorn in the test's event loop): every endpoint."""

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
from starlette.routing import Route

from gitward.api import openapi
from gitward.api.app import build_app
from gitward.api.metrics import Registry, controller_metrics
from gitward.api.protocols import SourceError
from gitward.api.routes import api_routes
from gitward.api.server import MAX_BODY_BYTES, ApiServer, serve
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

    def shards(self) -> dict[str, Any]:
        return {"replica": "r0", "shards": 2, "served": [1], "holders": {"0": "r1", "1": "r0"}}

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


def run(scenario: Scenario, source: FakeSource, *, token: str = "") -> None:
    """Serve ``source`` on a free port and run ``scenario`` against it."""
    registry = Registry()
    controller_metrics(registry).leader.set(1)

    async def main() -> None:
        server = await serve(
            host="127.0.0.1",
            port=0,
            source=source,
            registry=registry,
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


def document() -> dict[str, Any]:
    """The OpenAPI document of the served routes."""
    return openapi.document(build_app(routes=api_routes(FakeSource(), Registry()), token="").routes)


def validate(doc: Any, path: str, status: int, method: str = "get") -> None:
    """Check ``doc`` against the documented schema of ``method path``'s ``status`` answer."""
    full = document()
    answer = full["paths"][path][method]["responses"][str(status)]
    if "$ref" in answer:
        answer = full["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    schema = answer["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": full["components"]}).validate(doc)


# --- probes and metrics -------------------------------------------------------------


def test_healthz_answers_ok() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/healthz")
        assert (response.status_code, response.text) == (200, "ok")

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
        assert "# TYPE gitward_leader gauge\ngitward_leader 1.0\n" in response.text

    run(scenario, FakeSource())


# --- apps ---------------------------------------------------------------------------


def test_apps_lists_every_summary_in_the_sources_order() -> None:
    source = FakeSource()

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/api/v1/apps")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"apps": list(source.apps.values())}
        validate(response.json(), "/api/v1/apps", 200)

    run(scenario, source)


def test_app_detail_and_unknown_app() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/api/v1/apps/shop")
        assert response.status_code == 200
        assert response.json()["objects"] == ["Deployment/shop/web"]
        validate(response.json(), "/api/v1/apps/{name}", 200)

        missing = await client.get("/api/v1/apps/nope")
        assert missing.status_code == 404
        assert missing.json() == {"error": "app nope not found"}
        validate(missing.json(), "/api/v1/apps/{name}", 404)

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
        validate(drifts.json(), "/api/v1/apps/{name}/drifts", 200)
        history = await client.get("/api/v1/apps/shop/history")
        assert history.json() == {"history": source.histories["shop"]}
        validate(history.json(), "/api/v1/apps/{name}/history", 200)
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
            validate(response.json(), "/api/v1/apps", 503)
        # The probes and metrics still answer: a healthy standby is alive and ready.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200

    run(scenario, source)


def test_every_replica_standbys_too_says_which_replica_holds_which_shard() -> None:
    source = FakeSource(standby="standby: serves no shard yet")

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        response = await client.get("/api/v1/shards")
        assert response.status_code == 200
        assert response.json() == source.shards()
        validate(response.json(), "/api/v1/shards", 200)

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
        validate(response.json(), "/api/v1/webhooks/{forge}", 202, "post")

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
            response = await client.post("/api/v1/webhooks/github", content=b"x" * size)
            assert response.status_code == 413
            assert "the limit is 1048576" in response.json()["error"]

        async def chunked() -> Any:
            for _ in range(3):
                yield b"x" * (MAX_BODY_BYTES // 2)

        streamed = await client.post("/api/v1/webhooks/github", content=chunked())
        assert streamed.status_code == 413, "a body without Content-Length is limited too"
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
        assert post.headers["allow"] == "GET, HEAD"
        assert post.json() == {"error": "POST /healthz: method not allowed; use GET, HEAD"}
        get = await client.get("/api/v1/webhooks/github")
        assert (get.status_code, get.headers["allow"]) == (405, "POST")

    run(scenario, FakeSource())


def test_a_failing_handler_is_500_without_a_traceback_and_the_server_keeps_serving() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        failed = await client.get("/api/v1/apps")
        assert failed.status_code == 500
        assert failed.json() == {
            "error": "GET /api/v1/apps: internal error; see the controller log"
        }
        assert (await client.get("/healthz")).status_code == 200

    run(scenario, FakeSource(broken=True))


def test_malformed_requests_get_a_4xx_and_the_server_keeps_serving() -> None:
    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        cases = [
            b"GARBAGE\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nno colon\r\n\r\n",
            b"POST /api/v1/webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        ]
        for request in cases:
            answer = await raw(server.port, request, close_write=True)
            assert answer.startswith(b"HTTP/1.1 4"), (request[:40], answer[:80])
            assert b"Traceback" not in answer
        assert (await client.get("/healthz")).status_code == 200

    run(scenario, FakeSource())


def test_close_drops_idle_connections() -> None:
    async def main() -> None:
        server = await serve(host="127.0.0.1", port=0, source=FakeSource(), registry=Registry())
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        async with asyncio.timeout(5):
            await server.close()
            assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()

    asyncio.run(main())


def test_a_port_in_use_is_an_error_for_the_caller() -> None:
    async def main() -> None:
        first = await serve(host="127.0.0.1", port=0, source=FakeSource(), registry=Registry())
        try:
            try:
                await serve(
                    host="127.0.0.1", port=first.port, source=FakeSource(), registry=Registry()
                )
            except OSError:
                return
            raise AssertionError("a second server bound the same port")
        finally:
            await first.close()

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
        served = {
            (method, route.path)
            for route in server.routes
            if isinstance(route, Route)
            for method in getattr(route, "methods", ()) or ()
            if method != "HEAD"
        }
        assert described == served
        assert len(served) == 10

    run(scenario, FakeSource())


def test_openapi_marks_public_exactly_the_routes_served_without_a_token() -> None:
    doc = document()
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    operations = {
        (method.upper(), path): operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    }
    public = {key for key, operation in operations.items() if operation.get("security") == []}
    assert public == {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("POST", "/api/v1/webhooks/{forge}"),
    }

    async def scenario(client: httpx.AsyncClient, server: ApiServer) -> None:
        for method, path in operations:
            url = path.replace("{name}", "shop").replace("{forge}", "github")
            answer = await client.request(method, url)
            refused = "www-authenticate" in answer.headers
            assert refused == ((method, path) not in public), (method, path)

    run(scenario, FakeSource(), token=TOKEN)
    for key, operation in operations.items():
        if key not in public:
            assert "401" in operation["responses"], key


def test_openapi_schemas_are_valid_and_every_reference_resolves() -> None:
    doc = document()
    jsonschema.Draft202012Validator.check_schema(doc["components"]["schemas"]["Error"])
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"#/components/')[1:]}:
        section, name = ref.split("/")
        assert name in doc["components"][section], ref
