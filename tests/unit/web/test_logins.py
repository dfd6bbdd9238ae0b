"""Logins backed by the users Secret, on a real socket against the in-memory API server."""

from __future__ import annotations

import base64
import logging
import re

import httpx
import pytest

from gitward.kube import Kube
from gitward.web import UsersSecret
from gitward.web.passwords import hash_password
from tests.unit.web.test_ui import TOKEN, FakeUi, run

USERS = UsersSecret(namespace="gitward-system", name="gitward-ui-users")
PASSWORD = "open sesame 42"


async def users_secret(kube: Kube) -> None:
    hashed = hash_password(PASSWORD).encode()
    await kube.create(
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": USERS.name, "namespace": USERS.namespace},
         "data": {"alice": base64.b64encode(hashed).decode(),
                  "mallory": base64.b64encode(b"not-a-hash").decode()}}
    )  # fmt: skip


async def csrf_of(client: httpx.AsyncClient) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/ui/apps/shop")).text)
    assert match
    return match[1]


def test_a_user_of_the_secret_logs_in_acts_and_logs_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        form = (await client.get("/ui/login")).text
        assert 'name="user"' in form and 'name="password"' in form
        answer = await client.post("/ui/login", data={"user": "alice", "password": PASSWORD})
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
        assert "Secure" not in cookie, "plain HTTP without --ui-secure-cookie"
        assert "alice" in (await client.get("/ui/apps/shop")).text
        csrf = await csrf_of(client)
        assert (await client.post("/ui/apps/shop/sync")).status_code == 403, "no CSRF token"
        assert (await client.post("/ui/apps/shop/sync", data={"csrf": csrf})).status_code == 303
        assert (await client.post("/ui/logout")).status_code == 403, "log out needs CSRF too"
        assert (await client.post("/ui/logout", data={"csrf": csrf})).status_code == 303
        assert (await client.post("/ui/apps/shop/sync", data={"csrf": csrf})).status_code == 401

    source = run(scenario, open_reads=False, users=USERS, prepare=users_secret)
    assert source.synced == ["shop"]
    assert PASSWORD not in caplog.text
    assert "alice logged in" in caplog.text


def test_a_wrong_password_an_unknown_user_and_a_malformed_hash_are_refused_alike(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        for user, password in (
            ("alice", "Bad-Guess-17"),
            ("nobody", PASSWORD),
            ("mallory", "Bad-Guess-18"),
        ):
            answer = await client.post("/ui/login", data={"user": user, "password": password})
            assert answer.status_code == 401, user
            assert "Unknown user or wrong password." in answer.text
            assert "gitward_session" not in answer.headers.get("set-cookie", "")
            assert password not in answer.text
        assert (await client.get("/ui/apps/shop")).status_code == 303, "still not logged in"

    run(scenario, open_reads=False, users=USERS, prepare=users_secret)
    assert "Bad-Guess" not in caplog.text and "not-a-hash" not in caplog.text
    assert "mallory" in caplog.text, "the malformed entry is named, its value is not"


def test_five_failed_logins_from_one_address_make_it_wait() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        for _ in range(5):
            wrong = await client.post("/ui/login", data={"user": "alice", "password": "guess"})
            assert wrong.status_code == 401
        blocked = await client.post("/ui/login", data={"user": "alice", "password": PASSWORD})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert "too many failed logins" in blocked.json()["error"]

    run(scenario, users=USERS, prepare=users_secret)


def test_without_the_secret_nobody_logs_in_by_password_but_the_token_still_works() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        answer = await client.post("/ui/login", data={"user": "alice", "password": PASSWORD})
        assert answer.status_code == 401
        token = await client.post("/ui/login", data={"token": TOKEN})
        assert token.status_code == 303

    run(scenario, users=USERS)


def test_with_users_but_no_api_token_actions_need_a_password_login() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        assert 'name="token"' not in (await client.get("/ui/login")).text
        assert (await client.post("/ui/apps/shop/sync")).status_code == 401
        await client.post("/ui/login", data={"user": "alice", "password": PASSWORD})
        csrf = await csrf_of(client)
        assert (await client.post("/ui/apps/shop/sync", data={"csrf": csrf})).status_code == 303

    assert run(scenario, token="", users=USERS, prepare=users_secret).synced == ["shop"]


def test_off_loopback_no_route_but_the_login_form_and_assets_answers_without_a_login() -> None:
    from starlette.routing import Mount, Route

    from gitward.web import UiOptions, ui_routes

    routes = ui_routes(FakeUi(kube=None), UiOptions(token=TOKEN, open_reads=False))  # type: ignore[arg-type]
    paths = [
        r.path.replace("{name}", "shop").replace("{part}", "diff")
        for r in routes
        if isinstance(r, Route)
    ]
    assert {"/ui/", "/ui/apps/shop", "/ui/apps/shop/parts/diff", "/ui/stream"} <= set(paths)
    assert [r.path for r in routes if isinstance(r, Mount)] == ["/ui/static"]

    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        for path in paths:
            for method in ("GET", "POST"):
                answer = await client.request(method, path)
                if path == "/ui/login" or (path == "/" and method == "GET"):
                    continue  # the form itself, and a redirect to the list
                assert answer.status_code in (303, 401, 405), (method, path, answer.status_code)
                if answer.status_code == 303:
                    assert answer.headers["location"] == "/ui/login", (method, path)
        assert (await client.get("/")).headers["location"] == "/ui/"
        assert "shop" not in (await client.get("/ui/login")).text

    run(scenario, open_reads=False, users=USERS, prepare=users_secret)
