"""The UI in a real browser (Debian's chromium, driven by Playwright) against a real
controller on the real control plane. Screenshots go to each test's tmp_path."""

from __future__ import annotations

import base64
import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e import helpers
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import WEB, ConfigRepo, one_app
from tests.e2e.test_controller import RunningController, eventually, kubectl, start_controller

TOKEN = "browser-test-token-5f1c2a"
#: Debian's package, installed by scripts/setup; Playwright downloads no browser.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextlib.contextmanager
def browser_page() -> Iterator[Page]:
    """A page of headless chromium at 1280x800.

    Playwright's sync API runs an event loop in this thread while it is open, so
    a test calls the cluster (``asyncio.run``) before or after, never inside.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 800})
        finally:
            browser.close()


def sync_of(running: RunningController, app: str) -> str:
    """The app's sync status from the API, which needs the token this controller has."""
    answer = httpx.get(
        f"{running.url}/api/v1/apps/{app}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    return str(answer.json().get("sync"))


def controller_for(
    repo: ConfigRepo, tmp_path: Path, extra_args: tuple[str, ...] = ()
) -> RunningController:
    token_file = tmp_path / "api-token"
    token_file.write_text(TOKEN)
    return start_controller(
        repo, tmp_path, extra_args=("--api-token-file", str(token_file), *extra_args)
    )


@pytest.fixture
def synced(
    tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> Iterator[tuple[ConfigRepo, RunningController]]:
    """A Deployment app with autoSync and selfHeal, synced by a running controller."""
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace, autoSync=True, selfHeal=True)
    repo.write("app/web.yaml", WEB)
    repo.commit("web, 2 replicas")
    running = controller_for(repo, tmp_path)
    try:
        eventually(lambda: sync_of(running, app_name) == "Synced", what="first sync")
        yield repo, running
    finally:
        running.stop()


def test_the_list_shows_the_right_status_after_a_sync(
    synced: tuple[ConfigRepo, RunningController], app_name: str, tmp_path: Path
) -> None:
    _, running = synced
    with browser_page() as page:
        page.goto(running.url + "/ui/")
        row = page.locator(f'tr[data-app="{app_name}"]')
        expect(row.locator("[data-sync]")).to_have_attribute("data-sync", "Synced")
        expect(row).to_contain_text("web, 2 replicas")
        page.screenshot(path=tmp_path / "list.png")


def test_a_kubectl_scale_shows_live_in_the_drift_log_then_as_corrected(
    synced: tuple[ConfigRepo, RunningController],
    cluster: Cluster,
    namespace: str,
    app_name: str,
    tmp_path: Path,
) -> None:
    _, running = synced
    with browser_page() as page:
        page.goto(f"{running.url}/ui/apps/{app_name}")
        expect(page.locator("#live")).to_have_class("live on")
        page.evaluate("window.notReloaded = true")
        kubectl(cluster, "scale", "deployment/web", "-n", namespace, "--replicas=5")
        row = page.locator(f'.drifts-log tr[data-object="Deployment/{namespace}/web"]').first
        expect(row.locator(".actor")).to_have_text("kubectl", timeout=10_000)
        expect(row.locator(".fields")).to_contain_text("spec.replicas")
        expect(row.locator(".outcome")).to_have_text("corrected", timeout=15_000)
        assert page.evaluate("window.notReloaded") is True, "the page updated without a reload"
        page.screenshot(path=tmp_path / "drift.png", full_page=True)


def test_the_resource_tree_shows_a_deployments_pods(
    synced: tuple[ConfigRepo, RunningController],
    cluster: Cluster,
    namespace: str,
    app_name: str,
    tmp_path: Path,
) -> None:
    _, running = synced
    eventually(lambda: len(cluster.list("v1", "Pod", namespace)) == 2, timeout=30, what="two pods")
    with browser_page() as page:
        page.goto(f"{running.url}/ui/apps/{app_name}")
        deployment = page.locator(f'.tree li[data-ref="Deployment/{namespace}/web"]')
        replicaset = deployment.locator('li[data-ref^="ReplicaSet/"]')
        expect(replicaset).to_have_count(1)
        expect(replicaset.locator('li[data-ref^="Pod/"]')).to_have_count(2)
        page.screenshot(path=tmp_path / "tree.png", full_page=True)


def test_the_diff_shows_a_pending_change_from_a_new_commit(
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    app_name: str,
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/web.yaml", WEB)
    repo.commit("web")
    helpers.gitward("sync", app_name, "--repo", repo.url, "--revision", "main")
    running = controller_for(repo, tmp_path)
    try:
        eventually(lambda: sync_of(running, app_name) == "Synced", what="planned in sync")
        with browser_page() as page:
            page.goto(f"{running.url}/ui/apps/{app_name}")
            expect(page.locator("#diff-body")).to_contain_text("The cluster matches git")
            repo.write("app/web.yaml", WEB.replace("value: git", "value: next"))
            repo.commit("web: MODE next")
            diff = page.locator(f'.objdiff[data-ref="Deployment/{namespace}/web"]')
            expect(diff.locator("tr.del")).to_contain_text("value: git", timeout=15_000)
            expect(diff.locator("tr.add")).to_contain_text("value: next")
            page.get_by_text("Side by side").click()
            expect(diff.locator("td.add")).to_contain_text("value: next")
            page.screenshot(path=tmp_path / "diff.png", full_page=True)
    finally:
        running.stop()


def test_an_unauthenticated_action_is_refused_and_a_logged_in_one_runs(
    synced: tuple[ConfigRepo, RunningController], app_name: str, tmp_path: Path
) -> None:
    _, running = synced
    with browser_page() as page:
        refused_and_then_run(page, running.url, app_name, tmp_path)


def refused_and_then_run(page: Page, url: str, app_name: str, tmp_path: Path) -> None:
    page.goto(f"{url}/ui/apps/{app_name}")
    expect(page.locator("#sync-now")).to_have_count(0)
    status = page.evaluate(
        f"fetch('/ui/apps/{app_name}/sync', {{method: 'POST'}}).then(r => r.status)"
    )
    assert status == 401
    page.goto(url + "/ui/login")
    page.fill("input[name=token]", TOKEN)
    page.click("#login-token")
    page.goto(f"{url}/ui/apps/{app_name}")
    assert TOKEN not in page.content()
    forged = page.evaluate(
        f"fetch('/ui/apps/{app_name}/sync', {{method: 'POST'}}).then(r => r.status)"
    )
    assert forged == 403, "a logged-in request without the CSRF token is refused"
    with page.expect_response(lambda r: r.url.endswith("/sync")) as answer:
        page.click("#sync-now")
    assert answer.value.status == 204
    page.screenshot(path=tmp_path / "action.png")


def test_the_events_section_shows_the_events_on_the_apps_objects(
    synced: tuple[ConfigRepo, RunningController],
    cluster: Cluster,
    namespace: str,
    app_name: str,
    tmp_path: Path,
) -> None:
    _, running = synced
    live = cluster.get("apps/v1", "Deployment", "web", namespace)
    assert live is not None
    cluster.apply(
        {"apiVersion": "v1", "kind": "Event",
         "metadata": {"name": "web.browser-test", "namespace": namespace},
         "involvedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                            "namespace": namespace, "uid": live["metadata"]["uid"]},
         "reason": "BrowserTest", "message": "a warning the page must show", "type": "Warning",
         "count": 3, "firstTimestamp": "2026-01-01T00:00:00Z",
         "lastTimestamp": "2099-01-01T00:00:00Z", "source": {"component": "browser-test"}}
    )  # fmt: skip
    eventually(
        lambda: any(
            e.get("reason") == "ScalingReplicaSet" for e in cluster.list("v1", "Event", namespace)
        ),
        what="the Deployment's ScalingReplicaSet event",
    )
    with browser_page() as page:
        page.goto(f"{running.url}/ui/apps/{app_name}")
        events = page.locator("table.events")
        warning = events.locator("tr.ev-warning")
        expect(warning).to_have_count(1)
        expect(warning).to_contain_text("BrowserTest")
        expect(warning).to_contain_text(f"Deployment/{namespace}/web")
        expect(warning).to_contain_text("a warning the page must show")
        expect(warning).to_contain_text("\u00d73")  # the count
        # the newest first: the made-up one is dated 2099
        expect(events.locator("tbody tr").first).to_have_class("ev-warning")
        scaled = events.locator("tr.ev-normal", has_text="ScalingReplicaSet")
        expect(scaled.first).to_contain_text(f"Deployment/{namespace}/web")
        page.locator("#events").scroll_into_view_if_needed()
        page.screenshot(path=tmp_path / "events.png", full_page=True)


PASSWORD = "correct horse battery 7"


@pytest.fixture
def users_secret(cluster: Cluster, namespace: str) -> Iterator[str]:
    """A users Secret in gitward's namespace with user ``alice``, hashed by the CLI."""
    hashed = helpers.gitward("ui", "hash-password", input=PASSWORD + "\n")
    assert hashed.returncode == 0, hashed.stderr
    name = f"ui-users-{namespace}"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gitward-system"}})
    cluster.apply(
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": name, "namespace": "gitward-system"},
         "data": {"alice": base64.b64encode(hashed.stdout.strip().encode()).decode()}}
    )  # fmt: skip
    yield name
    cluster.delete("v1", "Secret", name, "gitward-system")


def test_a_user_of_the_secret_logs_in_acts_and_logs_out_in_the_browser(
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    app_name: str,
    users_secret: str,
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace, autoSync=True)
    repo.write("app/web.yaml", WEB)
    repo.commit("web")
    running = controller_for(repo, tmp_path, ("--ui-users-secret", users_secret))
    try:
        eventually(lambda: sync_of(running, app_name) == "Synced", what="first sync")
        with browser_page() as page:
            page.goto(f"{running.url}/ui/login")
            page.fill("input[name=user]", "alice")
            page.fill("input[name=password]", "not the password")
            page.click("#login-password")
            expect(page.locator("p.error")).to_have_text("Unknown user or wrong password.")
            assert "not the password" not in page.content()
            page.fill("input[name=user]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("#login-password")
            expect(page.locator("#user")).to_have_text("alice")
            (cookie,) = [c for c in page.context.cookies() if c["name"] == "gitward_session"]
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            page.goto(f"{running.url}/ui/apps/{app_name}")
            assert PASSWORD not in page.content()
            expect(page.locator("#rollback-disabled")).to_contain_text("has no forge")
            with page.expect_response(lambda r: r.url.endswith("/sync")) as answer:
                page.click("#sync-now")
            assert answer.value.status == 204
            page.screenshot(path=tmp_path / "logged-in.png")
            page.click("header .who button.link")
            expect(page.locator("#user")).to_have_count(0)
            expect(page.locator("a[href='/ui/login']")).to_be_visible()
        assert PASSWORD not in running.log.read_text()
        assert "alice logged in" in running.log.read_text()
    finally:
        running.stop()
