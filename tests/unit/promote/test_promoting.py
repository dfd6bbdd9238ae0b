"""``gitward promote`` end to end on real git and helm, with a fake forge and cluster."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from gitward.errors import ExitCode, RenderError
from gitward.forge import ForgeUnreachable, PullRequest, PullState
from gitward.health import HealthStatus
from gitward.promote.errors import PromoteInputError, PromoteRemoteError
from gitward.promote.gitwork import Clone
from gitward.promote.promoting import Outcome, Promotion, PromotionRequest, promote
from gitward.record.history import SyncOutcome, SyncRecord
from gitward.source.credentials import GitCredentials
from tests.unit.forge.fakeforge import FakeForge
from tests.unit.promote.conftest import git, revision_of
from tests.unit.promote.fakes import FakeCluster

BRANCH = "gitward/promote/web/prod"


def run(
    clone_dir: Path, forge: FakeForge, cluster: FakeCluster, **request: object
) -> tuple[Promotion, ...]:
    clone = Clone(path=clone_dir, credentials=GitCredentials())
    return asyncio.run(
        promote(
            clone=clone,
            forge=forge,
            cluster=cluster,
            request=PromotionRequest(chart="web", **request),  # type: ignore[arg-type]
        )
    )


def show(origin: Path, ref: str, path: str) -> str:
    return git(origin, "show", f"{ref}:{path}")


def version_at(origin: Path, ref: str, env: str) -> str:
    chart = yaml.safe_load(show(origin, ref, f"apps/{env}/shop/Chart.yaml"))
    return str(chart["dependencies"][0]["version"])


def locked_at(origin: Path, ref: str, env: str) -> str:
    lock = yaml.safe_load(show(origin, ref, f"apps/{env}/shop/Chart.lock"))
    return str(lock["dependencies"][0]["version"])


def test_opens_one_pull_request_bumping_the_chart_and_its_lock(
    origin: Path, clone_dir: Path
) -> None:
    forge, cluster = FakeForge(), FakeCluster()
    (done,) = run(clone_dir, forge, cluster, version="0.2.0", environments=("prod",))
    assert done.outcome is Outcome.OPENED
    assert done.pull is not None and done.pull.head == BRANCH and done.pull.base == "main"
    assert done.pull.title == "Promote web to 0.2.0 in prod"
    assert (version_at(origin, BRANCH, "prod"), locked_at(origin, BRANCH, "prod")) == (
        "0.2.0",
        "0.2.0",
    )
    assert version_at(origin, BRANCH, "staging") == "0.1.0"  # another environment
    assert version_at(origin, "main", "prod") == "0.1.0"  # only a branch was pushed
    assert git(origin, "log", "-1", "--format=%an <%ae>", BRANCH) == (
        "gitward promoter <promoter@gitward.invalid>"
    )
    assert git(origin, "rev-parse", f"{BRANCH}^") == git(origin, "rev-parse", "main")
    changed = git(origin, "diff", "--name-only", "main", BRANCH).split()
    assert changed == ["apps/prod/shop/Chart.lock", "apps/prod/shop/Chart.yaml"]
    body = done.pull.body
    assert "| `shop-prod` | prod | `apps/prod/shop/Chart.yaml` | `0.1.0` | `0.2.0` |" in body
    assert f"{revision_of('0.1.0')}...{revision_of('0.2.0')}" in body  # code commits between
    assert "to change" in body  # the live diff
    assert cluster.planned == ["shop-prod"]


def test_promoting_again_updates_the_same_pull_request_and_pushes_nothing_new(
    origin: Path, clone_dir: Path
) -> None:
    forge, cluster = FakeForge(), FakeCluster()
    (first,) = run(clone_dir, forge, cluster, version="0.2.0", environments=("prod",))
    head = git(origin, "rev-parse", BRANCH)
    (again,) = run(clone_dir, forge, cluster, version="0.2.0", environments=("prod",))
    assert again.outcome is Outcome.UP_TO_DATE
    assert git(origin, "rev-parse", BRANCH) == head
    (tagged,) = run(
        clone_dir, forge, cluster, version="0.2.0", environments=("prod",), image="0.2.1"
    )
    assert tagged.outcome is Outcome.UPDATED
    assert first.pull is not None and tagged.pull is not None
    assert tagged.pull.number == first.pull.number and len(forge.pulls) == 1
    assert 'tag: "0.2.1"  # from CI' in show(origin, BRANCH, "apps/prod/shop/web.yaml")
    assert "`0.1.0` → `0.2.1`" in tagged.pull.body


def test_the_version_git_already_has_does_nothing_and_says_so(
    origin: Path, clone_dir: Path
) -> None:
    forge = FakeForge()
    (done,) = run(clone_dir, forge, FakeCluster(), version="0.1.0", environments=("prod",))
    assert done.outcome is Outcome.IN_GIT
    assert done.message == "web is already at 0.1.0 in prod in git; nothing to do"
    assert forge.calls == []
    assert git(origin, "branch", "--list", "gitward/*") == ""


def test_an_unpublished_version_is_refused_naming_it_and_nothing_is_pushed(
    origin: Path, clone_dir: Path, chart_repo: str
) -> None:
    forge = FakeForge()
    with pytest.raises(
        RenderError, match=f"chart web version 9.9.9 not found in {chart_repo}"
    ) as e:
        run(clone_dir, forge, FakeCluster(), version="9.9.9", environments=("prod",))
    assert e.value.exit_code == ExitCode.INPUT
    assert forge.calls == [] and git(origin, "branch", "--list", "gitward/*") == ""


def test_a_chart_no_app_uses_and_an_unknown_environment_are_refused(clone_dir: Path) -> None:
    with pytest.raises(PromoteInputError, match=r"chart nope: no app in prod depends on it"):
        asyncio.run(
            promote(
                clone=Clone(path=clone_dir, credentials=GitCredentials()),
                forge=FakeForge(),
                cluster=FakeCluster(),
                request=PromotionRequest(chart="nope", version="1.0.0", environments=("prod",)),
            )
        )
    with pytest.raises(PromoteInputError, match=r"no app is in environment 'qa'"):
        run(clone_dir, FakeForge(), FakeCluster(), version="0.2.0", environments=("qa",))


def test_a_failing_dry_run_opens_no_pull_request(origin: Path, clone_dir: Path) -> None:
    forge, cluster = FakeForge(), FakeCluster()
    cluster.refuse["shop-prod"] = "Deployment/web: spec.replicas: Invalid value"
    with pytest.raises(
        PromoteInputError, match=r"app shop-prod: web\.yaml: .*Invalid value.*no pull"
    ):
        run(clone_dir, forge, cluster, version="0.2.0", environments=("prod",))
    assert forge.calls == [] and git(origin, "branch", "--list", "gitward/*") == ""


def test_several_environments_in_one_or_split_into_one_pull_request_each(
    origin: Path, clone_dir: Path
) -> None:
    forge = FakeForge()
    (both,) = run(
        clone_dir, forge, FakeCluster(), version="0.2.0", environments=("staging", "prod")
    )
    assert both.branch == "gitward/promote/web/staging+prod"
    assert [b.app for b in both.bumps] == ["shop-staging", "shop-prod"]
    split = run(
        clone_dir,
        forge,
        FakeCluster(),
        version="0.2.0",
        environments=("staging", "prod"),
        split=True,
    )
    assert [p.branch for p in split] == ["gitward/promote/web/staging", BRANCH]
    assert len(forge.pulls) == 3
    assert version_at(origin, "gitward/promote/web/staging", "prod") == "0.1.0"


def test_a_branch_that_moves_under_the_push_is_retried_once_then_exit_3(
    origin: Path, clone_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(origin), str(other))
    moves = {"left": 1}
    real_fetch = Clone.fetch

    def fetch_then_someone_pushes(self: Clone, branch: str) -> str | None:
        seen = real_fetch(self, branch)
        if branch == BRANCH and moves["left"] > 0:
            moves["left"] -= 1
            git(other, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q",
                "--allow-empty", "-m", f"someone {moves['left']}")  # fmt: skip
            git(other, "push", "-q", "--force", "origin", f"HEAD:refs/heads/{BRANCH}")
        return seen

    monkeypatch.setattr(Clone, "fetch", fetch_then_someone_pushes)
    (done,) = run(clone_dir, FakeForge(), FakeCluster(), version="0.2.0", environments=("prod",))
    assert done.outcome is Outcome.OPENED  # the second try won
    assert version_at(origin, BRANCH, "prod") == "0.2.0"
    moves["left"] = 2
    with pytest.raises(PromoteRemoteError, match="moved while promoting, twice") as e:
        run(
            clone_dir,
            FakeForge(),
            FakeCluster(),
            version="0.2.0",
            environments=("prod",),
            image="9",
        )
    assert e.value.exit_code == ExitCode.CLUSTER


def synced(app: str, version: str, result: SyncOutcome = SyncOutcome.SUCCEEDED) -> SyncRecord:
    return SyncRecord(
        app=app,
        revision="a" * 40,
        ref="main",
        author="a",
        subject="s",
        started_at="2026-12-02T10:00:00Z",
        duration_seconds=1.0,
        result=result,
        charts=(f"web@{version}",),
    )


def test_from_staging_promotes_what_runs_healthy_there(origin: Path, clone_dir: Path) -> None:
    cluster = FakeCluster()
    cluster.records["shop-staging"] = [synced("staging.shop-staging", "0.2.0")]
    (done,) = run(
        clone_dir,
        FakeForge(),
        cluster,
        version="",
        from_environment="staging",
        environments=("prod",),
    )
    assert done.version == "0.2.0" and done.outcome is Outcome.OPENED
    assert version_at(origin, BRANCH, "prod") == "0.2.0"


@pytest.mark.parametrize(
    ("record", "health", "says"),
    [
        (synced("s", "0.2.0"), HealthStatus.DEGRADED, "not Healthy"),
        (synced("s", "0.2.0", SyncOutcome.FAILED), HealthStatus.HEALTHY, "last sync failed"),
        (None, HealthStatus.HEALTHY, "never synced"),
    ],
)
def test_from_staging_refuses_unless_staging_is_healthy_on_a_synced_version(
    clone_dir: Path, record: SyncRecord | None, health: HealthStatus, says: str
) -> None:
    cluster = FakeCluster()
    cluster.records["shop-staging"] = [record] if record else []
    cluster.health["shop-staging"] = health
    forge = FakeForge()
    with pytest.raises(PromoteInputError, match=says):
        run(
            clone_dir,
            forge,
            cluster,
            version="",
            from_environment="staging",
            environments=("prod",),
        )
    assert forge.pulls == {}


def test_the_fake_forge_keeps_one_open_pull_per_branch() -> None:
    forge = FakeForge()
    pull = asyncio.run(forge.open_pull(head="b", base="main", title="t", body="x"))
    asyncio.run(forge.merge_pull(number=pull.number))
    assert forge.pulls[pull.number].state is PullState.MERGED
    assert asyncio.run(forge.find_pull(head="b", base="main")) is None


class UnreachableForge(FakeForge):
    async def find_pull(self, *, head: str, base: str) -> PullRequest | None:
        raise ForgeUnreachable("gitea http://127.0.0.1:1 acme/config: unreachable: refused")


def test_an_unreachable_forge_is_exit_3_and_nothing_is_pushed(
    origin: Path, clone_dir: Path
) -> None:
    with pytest.raises(ForgeUnreachable) as e:
        run(clone_dir, UnreachableForge(), FakeCluster(), version="0.2.0", environments=("prod",))
    assert e.value.exit_code == ExitCode.CLUSTER
    assert git(origin, "branch", "--list", "gitward/*") == ""
