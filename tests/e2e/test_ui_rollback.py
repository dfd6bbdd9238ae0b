"""The rollback button in a real browser: a controller on the real control plane, its
config repository on the real forge (Gitea), and the pull request it opens there."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from playwright.sync_api import expect

from tests.e2e.forgekit import Forge, ForgeRepo, file_on, pulls
from tests.e2e.helpers import SETTINGS, run_git
from tests.e2e.test_controller import RunningController, eventually, start_controller
from tests.e2e.test_ui_browser import TOKEN, browser_page

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def history(running: RunningController, app: str) -> list[dict[str, Any]]:
    got = httpx.get(f"{running.url}/api/v1/apps/{app}/history", headers=BEARER, timeout=5)
    got.raise_for_status()
    return list(got.json()["history"])


def push(work: Path, colour: str) -> str:
    """Commit ConfigMap ``settings`` with ``colour`` on main, push it; the commit's SHA."""
    (work / "app" / "settings.yaml").write_text(SETTINGS.format(colour))
    run_git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", colour)
    run_git(work, "push", "-q", "origin", "HEAD:main")
    return run_git(work, "rev-parse", "HEAD")


def synced_to(running: RunningController, app: str, sha: str) -> None:
    """Ask the controller to fetch and sync ``app`` (it has no autoSync) until ``sha`` is."""
    asked = [0.0]

    def done() -> bool:
        newest = history(running, app)
        if newest and newest[0]["revision"] == sha and newest[0]["result"] == "succeeded":
            return True
        if time.monotonic() - asked[0] > 3:  # one sync at a time, once git is read
            asked[0] = time.monotonic()
            httpx.post(f"{running.url}/ui/refresh", headers=BEARER, timeout=5)
            time.sleep(1)
            httpx.post(f"{running.url}/ui/apps/{app}/sync", headers=BEARER, timeout=5)
        return False

    eventually(done, timeout=60, what=f"a sync of {sha[:12]}")


def test_the_rollback_button_opens_a_pull_request_on_the_forge_and_shows_a_conflict(
    forge: Forge, namespace: str, app_name: str, tmp_path: Path
) -> None:
    gitward_yaml = {"apps": [{"name": app_name, "path": "app", "namespace": namespace}]}
    repo: ForgeRepo = forge.create_repo(
        files={
            "gitward.yaml": yaml.safe_dump(gitward_yaml),
            "app/settings.yaml": SETTINGS.format("none"),
        }
    )
    work = forge.clone(repo, forge.admin, tmp_path / "work")
    first = push(work, "blue")
    (tmp_path / "api-token").write_text(TOKEN)
    (tmp_path / "promoter-token").write_text(forge.promoter.token)
    running = start_controller(
        f"{forge.url}/{repo.path}.git",
        tmp_path,
        extra_args=(
            "--api-token-file", str(tmp_path / "api-token"),
            "--forge", "gitea", "--forge-url", forge.url,
            "--rollback-token-file", str(tmp_path / "promoter-token"),
        ),
        extra_env={
            # Reads the repository as the deployer; comments and statuses as the reporter.
            "GITWARD_GIT_TOKEN": forge.deployer.token,
            "GITWARD_GIT_USERNAME": forge.deployer.user,
            "GITWARD_FORGE_TOKEN": forge.reporter.token,
        },
    )  # fmt: skip
    try:
        synced_to(running, app_name, first)
        second = push(work, "green")
        synced_to(running, app_name, second)
        with browser_page() as page:
            page.goto(running.url + "/ui/login")
            page.fill("input[name=token]", TOKEN)
            page.click("#login-token")
            page.goto(f"{running.url}/ui/apps/{app_name}")
            button = page.locator(f'tr[data-revision="{first}"] button.rollback')
            expect(button).to_be_enabled()
            assert page.locator(f'tr[data-revision="{second}"] button.rollback').count() == 0
            button.click()
            link = page.locator("#rollback-result .rollback-done a")
            link.wait_for(timeout=60_000)
            (pull,) = pulls(forge, repo)
            assert pull["head"]["ref"] == f"gitward/rollback/{app_name}"
            assert link.get_attribute("href") == pull["html_url"]
            assert link.inner_text() == f"#{pull['number']} Roll back {app_name} to {first[:12]}"
            assert "colour: blue" in file_on(forge, repo, pull["head"]["ref"], "app/settings.yaml")
            page.screenshot(path=tmp_path / "rollback.png", full_page=True)

            push(work, "red")  # main moves on the same line, not synced yet
            page.reload()
            page.locator(f'tr[data-revision="{first}"] button.rollback').click()
            error = page.locator("#rollback-result .rollback-error")
            error.wait_for(timeout=60_000)
            text = error.inner_text()
            assert "conflicts with changes made on main since: app/settings.yaml" in text
            assert forge.promoter.token not in page.content()
            page.screenshot(path=tmp_path / "rollback-conflict.png", full_page=True)
        assert len(pulls(forge, repo)) == 1, "the conflict opened nothing"
        assert forge.promoter.token not in running.log.read_text()
    finally:
        running.stop()
