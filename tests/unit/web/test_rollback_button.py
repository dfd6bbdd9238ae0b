"""The rollback button on the app page's history, against a fake controller."""

from __future__ import annotations

import re

import httpx

from gitward.forge.errors import ForgeRefused
from gitward.promote.errors import PromoteInputError
from gitward.web import views
from tests.unit.web.test_ui import OLD_SHA, SHA, FakeUi, login, run

HTMX = {"HX-Request": "true"}


def test_only_earlier_successful_commits_get_a_button_one_per_commit() -> None:
    history = [
        {"revision": "c3", "result": "failed"},
        {"revision": "c2", "result": "succeeded"},
        {"revision": "c2", "result": "succeeded"},
        {"revision": "c1", "result": "succeeded"},
        {"revision": "c1", "result": "succeeded"},
        {"revision": "c0-dirty", "result": "succeeded"},
        {"revision": "c0", "result": "degraded"},
    ]
    assert views.rollback_targets(history) == {3}
    assert views.rollback_targets([]) == frozenset()


def test_a_logged_in_user_opens_a_rollback_and_sees_the_pull_request() -> None:
    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        anonymous = (await client.get("/ui/apps/shop/parts/history")).text
        assert "Roll back to" not in anonymous
        assert (
            await client.post("/ui/apps/shop/rollback", data={"to": OLD_SHA})
        ).status_code == 401
        csrf = await login(client)
        history = (await client.get("/ui/apps/shop/parts/history")).text
        assert f"Roll back to {OLD_SHA[:7]}" in history
        assert f"Roll back to {SHA[:7]}" not in history, "not to what runs now"
        forged = await client.post("/ui/apps/shop/rollback", data={"to": OLD_SHA}, headers=HTMX)
        assert forged.status_code == 403, "no CSRF token"
        done = await client.post(
            "/ui/apps/shop/rollback", data={"csrf": csrf, "to": OLD_SHA}, headers=HTMX
        )
        assert done.status_code == 200
        assert 'href="https://forge.example/o/r/pulls/7"' in done.text
        assert f"#7 Roll back shop to {OLD_SHA[:12]}" in done.text
        assert "<html" not in done.text, "a fragment for the page"
        plain = await client.post("/ui/apps/shop/rollback", data={"csrf": csrf, "to": OLD_SHA})
        assert plain.status_code == 200 and "<html" in plain.text and "pulls/7" in plain.text

    assert run(scenario).rollbacks == [("shop", OLD_SHA), ("shop", OLD_SHA)]


def test_without_a_forge_the_button_is_disabled_and_says_why() -> None:
    reason = "the controller has no forge: start it with --forge-url (and --forge)"

    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        source.refusal = reason
        csrf = await login(client)
        history = (await client.get("/ui/apps/shop/parts/history")).text
        assert f"Rollback is off: {reason}." in history
        button = re.search(r"<button[^>]*rollback[^>]*>", history)
        assert button and "disabled" in button[0] and reason in button[0]
        refused = await client.post(
            "/ui/apps/shop/rollback", data={"csrf": csrf, "to": OLD_SHA}, headers=HTMX
        )
        assert "Rollback not opened: app shop: the controller has no forge" in refused.text

    assert run(scenario).rollbacks == []


def test_a_conflict_or_a_forge_refusal_is_shown_with_its_status() -> None:
    conflict = (
        f"app shop: rolling back to {OLD_SHA[:12]} conflicts with changes made on main since: "
        "apps/shop/Chart.yaml; nothing was pushed"
    )

    async def scenario(client: httpx.AsyncClient, source: FakeUi) -> None:
        csrf = await login(client)
        source.rollback_error = PromoteInputError(conflict)
        shown = await client.post(
            "/ui/apps/shop/rollback", data={"csrf": csrf, "to": OLD_SHA}, headers=HTMX
        )
        assert shown.status_code == 200 and conflict in shown.text and 'role="alert"' in shown.text
        plain = await client.post("/ui/apps/shop/rollback", data={"csrf": csrf, "to": OLD_SHA})
        assert plain.status_code == 409 and conflict in plain.text
        source.rollback_error = ForgeRefused("gitea: the token lacks write:repository")
        forge = await client.post("/ui/apps/shop/rollback", data={"csrf": csrf, "to": OLD_SHA})
        assert forge.status_code == 502 and "lacks write:repository" in forge.text
        bad = await client.post("/ui/apps/shop/rollback", data={"csrf": csrf, "to": "HEAD~1"})
        assert bad.status_code == 400 and "recorded commit SHA" in bad.json()["error"]

    run(scenario)
