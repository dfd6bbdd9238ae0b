"""``gitward rollback`` on real git: one app's files back, other apps' changes kept."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml

from gitward.errors import ExitCode
from gitward.promote.errors import PromoteInputError
from gitward.promote.gitwork import Clone
from gitward.promote.rollback import Rollback, RollbackOutcome, RollbackRequest, rollback
from gitward.record.history import SyncOutcome, SyncRecord
from gitward.source.credentials import GitCredentials
from tests.unit.forge.fakeforge import FakeForge
from tests.unit.promote.conftest import git, helm, umbrella
from tests.unit.promote.fakes import FakeCluster

BRANCH = "gitward/rollback/shop-prod"


def commit(work: Path, message: str) -> str:
    git(work, "add", "-A")
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


def set_prod_version(work: Path, chart_repo: str, version: str) -> None:
    app = work / "apps" / "prod" / "shop"
    (app / "Chart.yaml").write_text(yaml.safe_dump(umbrella(chart_repo, version), sort_keys=False))
    helm("dependency", "update", ".", cwd=app)
    shutil.rmtree(app / "charts")


def record(revision: str) -> SyncRecord:
    return SyncRecord(
        app="prod.shop-prod",
        revision=revision,
        ref="main",
        author="t",
        subject=f"commit {revision[:7]}",
        started_at="2026-12-02T10:00:00Z",
        duration_seconds=1.0,
        result=SyncOutcome.SUCCEEDED,
        charts=("web@x",),
    )


@pytest.fixture
def history(origin: Path, tmp_path: Path, chart_repo: str) -> tuple[Path, str, str]:
    """main: A (web 0.1.0, synced), B (prod on 0.2.0, synced, running); returns (work, A, B)."""
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    first = git(work, "rev-parse", "HEAD")
    set_prod_version(work, chart_repo, "0.2.0")
    second = commit(work, "prod on web 0.2.0")
    return work, first, second


def run(clone_dir: Path, cluster: FakeCluster, forge: FakeForge, **request: object) -> Rollback:
    return asyncio.run(
        rollback(
            clone=Clone(path=clone_dir, credentials=GitCredentials()),
            forge=forge,
            cluster=cluster,
            request=RollbackRequest(app="shop-prod", **request),  # type: ignore[arg-type]
        )
    )


def cluster_running(first: str, second: str) -> FakeCluster:
    cluster = FakeCluster()
    cluster.records["shop-prod"] = [record(second), record(first)]
    return cluster


def test_restores_the_app_files_of_the_previous_sync_keeping_other_changes(
    origin: Path, clone_dir: Path, history: tuple[Path, str, str]
) -> None:
    work, first, second = history
    (work / "apps" / "infra" / "cm.yaml").write_text("# infra moved on since\n")
    commit(work, "infra changes")
    forge = FakeForge()
    done = run(clone_dir, cluster_running(first, second), forge)
    assert done.outcome is RollbackOutcome.OPENED
    assert done.target.revision == first and done.current.revision == second
    assert done.files == ("apps/prod/shop/Chart.lock", "apps/prod/shop/Chart.yaml")
    for name in ("Chart.yaml", "Chart.lock"):
        assert git(origin, "show", f"{BRANCH}:apps/prod/shop/{name}") == git(
            origin, "show", f"{first}:apps/prod/shop/{name}"
        )
    assert git(origin, "show", f"{BRANCH}:apps/infra/cm.yaml") == "# infra moved on since"
    assert git(origin, "rev-parse", f"{BRANCH}^") == git(origin, "rev-parse", "main")
    assert done.pull is not None and done.pull.title == f"Roll back shop-prod to {first[:12]}"
    assert f"Gitward-Rollback-To: {first}" in done.pull.body
    assert f"Gitward-Rollback-To: {first}" in git(origin, "log", "-1", "--format=%B", BRANCH)
    again = run(clone_dir, cluster_running(first, second), forge)
    assert again.outcome is RollbackOutcome.UP_TO_DATE and len(forge.pulls) == 1


def test_a_conflict_with_later_changes_to_the_same_lines_names_the_files(
    origin: Path, clone_dir: Path, history: tuple[Path, str, str], chart_repo: str
) -> None:
    work, first, second = history
    chart = work / "apps" / "prod" / "shop" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("version: 0.2.0", "version: 0.2.1"))
    commit(work, "a hand edit on main since")
    forge = FakeForge()
    with pytest.raises(PromoteInputError, match=r"conflicts .*: apps/prod/shop/Chart.yaml") as e:
        run(clone_dir, cluster_running(first, second), forge)
    assert e.value.exit_code == ExitCode.INPUT
    assert forge.calls == [] and git(origin, "branch", "--list", BRANCH) == ""


def test_nothing_to_roll_back_when_main_already_has_those_files(
    clone_dir: Path, history: tuple[Path, str, str], chart_repo: str
) -> None:
    work, first, second = history
    set_prod_version(work, chart_repo, "0.1.0")
    for name in ("Chart.yaml", "Chart.lock"):
        git(work, "checkout", first, "--", f"apps/prod/shop/{name}")
    commit(work, "back by hand")
    forge = FakeForge()
    done = run(clone_dir, cluster_running(first, second), forge)
    assert done.outcome is RollbackOutcome.NOTHING
    assert "already as they were" in done.message and forge.calls == []


def test_an_unknown_app_is_refused(clone_dir: Path) -> None:
    with pytest.raises(PromoteInputError, match="no app named 'nope'"):
        asyncio.run(
            rollback(
                clone=Clone(path=clone_dir, credentials=GitCredentials()),
                forge=FakeForge(),
                cluster=FakeCluster(),
                request=RollbackRequest(app="nope"),
            )
        )
