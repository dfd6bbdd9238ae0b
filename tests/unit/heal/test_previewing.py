"""Pull request previews on real git, the in-memory API server and a fake forge."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
import yaml

from gitward.forge import CommitState, PullAction, PullRequestEvent
from gitward.heal.previewing import PreviewDone, Previewer
from gitward.heal.state import ControllerOptions
from gitward.source import GitSource
from tests.unit.fakecluster import server
from tests.unit.forge.fakeforge import FakeForge

SECRET_VALUE = "hunter2-very-secret"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def configmap(name: str, value: str) -> str:
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": value}}
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two apps, shop and infra, on main; the bare origin serves refs/pull/N/head."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "gitward.yaml").write_text(
        yaml.safe_dump(
            {
                "apps": [
                    {"name": "shop", "path": "apps/shop", "namespace": "shop"},
                    {"name": "infra", "path": "apps/infra", "namespace": "default"},
                ]
            }
        )
    )
    for app in ("shop", "infra"):
        (work / "apps" / app).mkdir(parents=True)
        (work / "apps" / app / "cm.yaml").write_text(configmap(app, "v1"))
    (work / "README.md").write_text("config\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "seed")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    git(work, "remote", "add", "forge", str(bare))
    return work


def open_pr(work: Path, number: int, files: dict[str, str], message: str) -> str:
    """Commit ``files`` on a branch and publish it as pull request ``number``'s head."""
    git(work, "checkout", "-q", "-B", f"pr{number}", "main")
    for rel, text in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-qm", message)
    git(work, "push", "-q", "-f", "forge", f"HEAD:refs/pull/{number}/head")
    sha = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "main")
    return sha


def event(number: int, sha: str) -> PullRequestEvent:
    return PullRequestEvent(
        forge="gitea",
        action=PullAction.PUSHED,
        number=number,
        head=f"pr{number}",
        head_sha=sha,
        base="main",
        repo="acme/config",
    )


def preview(tmp_path: Path, forge: FakeForge, *events: PullRequestEvent) -> list[PreviewDone]:
    srv = server()
    source = GitSource(url=str(tmp_path / "origin.git"), cache_dir=tmp_path / "cache")

    async def go() -> list[PreviewDone]:
        async with srv.kube() as kube:
            previewer = Previewer(
                kube=kube,
                source=source,
                source_id="file://config",
                forge=forge,
                options=ControllerOptions(repo=str(tmp_path / "origin.git")),
                target_url="http://127.0.0.1:8080/api/v1/apps",
            )
            done = []
            for e in events:
                result = await previewer.submit(e)
                assert result is not None
                done.append(result)
            return done

    return asyncio.run(go())


def statuses(forge: FakeForge, sha: str) -> list[tuple[str, str]]:
    return [(s.state.value, s.description) for s in forge.status_list[sha]]


def test_previews_only_the_apps_a_pull_request_touches_in_one_comment(
    repo: Path, tmp_path: Path
) -> None:
    first = open_pr(repo, 3, {"apps/shop/cm.yaml": configmap("shop", "v2")}, "shop v2")
    forge = FakeForge()
    (done,) = preview(tmp_path, forge, event(3, first))
    assert done.apps == ("shop",) and not done.failed
    assert statuses(forge, first) == [
        ("pending", "planning 0 app(s) against the cluster"),
        ("success", "1 app(s) planned, 1 would change"),
    ]
    (comment,) = forge.comment_list[3]
    assert "| `shop` | 1 to create, 0 to change, 0 to prune |" in comment.body
    assert "create ConfigMap/shop/shop" in comment.body and "infra" not in comment.body


def test_a_later_push_edits_the_same_comment(repo: Path, tmp_path: Path) -> None:
    first = open_pr(repo, 3, {"apps/shop/cm.yaml": configmap("shop", "v2")}, "shop v2")
    forge = FakeForge()
    preview(tmp_path, forge, event(3, first))
    second = open_pr(
        repo,
        3,
        {"apps/shop/cm.yaml": configmap("shop", "v3"), "apps/infra/cm.yaml": configmap("i", "x")},
        "shop v3 and infra",
    )
    preview(tmp_path, forge, event(3, second))
    (comment,) = forge.comment_list[3]
    assert second[:12] in comment.body and "`infra`" in comment.body
    assert forge.calls.count("create_comment") == 1 and forge.calls.count("edit_comment") == 1


def test_a_head_that_fails_to_render_fails_the_status_with_the_error_in_the_comment(
    repo: Path, tmp_path: Path
) -> None:
    sha = open_pr(repo, 4, {"apps/shop/cm.yaml": "a: [1,\n"}, "broken yaml")
    forge = FakeForge()
    (done,) = preview(tmp_path, forge, event(4, sha))
    assert done.failed
    final = forge.status_list[sha][-1]
    assert final.state is CommitState.FAILURE and "apps/shop/cm.yaml" in final.description
    assert "apps/shop/cm.yaml" in forge.comment_list[4][0].body


def test_a_pull_request_touching_no_app_says_so(repo: Path, tmp_path: Path) -> None:
    sha = open_pr(repo, 5, {"README.md": "more words\n"}, "docs")
    forge = FakeForge()
    (done,) = preview(tmp_path, forge, event(5, sha))
    assert done.apps == ()
    assert statuses(forge, sha)[-1] == ("success", "no app affected")


def test_secret_values_never_reach_the_comment(repo: Path, tmp_path: Path) -> None:
    secret = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": SECRET_VALUE},
        }
    )
    sha = open_pr(repo, 6, {"apps/shop/secret.yaml": secret}, "a secret")
    forge = FakeForge()
    preview(tmp_path, forge, event(6, sha))
    body = forge.comment_list[6][0].body
    assert "Secret/shop/db" in body
    assert SECRET_VALUE not in body
