"""``gitward ci --promote``: the promotion pull request right after a publish, on real git
and helm, with the in-memory forge; no cluster at all (the build side has none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.ci.config import Promotion
from gitward.ci.promoting import PromoterAccess, PromotionFailed, promote_build, promotion_for
from gitward.ci.records import BuildRecord, ChartRecord, Step
from gitward.errors import ConfigError, ExitCode
from gitward.forge import Forge, ForgeUnreachable
from tests.unit.forge.fakeforge import FakeForge
from tests.unit.promote.conftest import git


def built(version: str = "0.2.0") -> BuildRecord:
    return BuildRecord(
        commit="c" * 40,
        version=version,
        source="http://127.0.0.1:1/acme/code.git",
        dirty=False,
        image=f"r.test/acme/web:{version}@sha256:{'d' * 64}",
        chart=ChartRecord(name="web", version=version),
        steps=(Step("version", 0.1, version),),
        total=0.1,
    )


class Run:
    def __init__(self, origin: Path) -> None:
        self.origin = origin
        self.forge: FakeForge = FakeForge()
        self.progress: list[Step] = []

    def __call__(
        self,
        *envs: str,
        token: str = "promoter-token",
        split: bool = False,
        promotion: Promotion | None = None,
    ) -> BuildRecord:
        return promote_build(
            record=built(),
            promotion=promotion or Promotion(repo=str(self.origin)),
            environments=envs,
            split=split,
            access=PromoterAccess(token=token),
            progress=self.progress.append,
            forge_for=self.forge_for,
        )

    def forge_for(self, url: str, access: PromoterAccess) -> Forge:
        assert (url, access.token) == (str(self.origin), "promoter-token")
        return self.forge


def test_the_pull_request_opens_without_a_dry_run_and_lands_in_the_record(
    origin: Path,
) -> None:
    run = Run(origin)
    record = run("prod")
    (promotion,) = record.promotions
    assert (promotion.outcome, promotion.number, promotion.environments) == ("opened", 1, ("prod",))
    assert promotion.url == "http://forge.invalid/acme/config/pulls/1"
    assert promotion.branch == "gitward/promote/web/prod"
    pull = run.forge.pulls[1]
    assert pull.title == "Promote web to 0.2.0 in prod"
    assert "the controller's preview comment on this pull request carries the plan" in pull.body
    assert "Opened by `gitward ci --promote prod`" in pull.body
    assert "| `shop-prod` | prod | `apps/prod/shop/Chart.yaml` | `0.1.0` | `0.2.0` |" in pull.body
    # Chart version, lock and image tag, exactly as `gitward promote web 0.2.0 --image 0.2.0`.
    changed = git(origin, "diff", "--name-only", "main", promotion.branch).split()
    assert changed == [
        "apps/prod/shop/Chart.lock",
        "apps/prod/shop/Chart.yaml",
        "apps/prod/shop/web.yaml",
    ]
    assert 'tag: "0.2.0"' in git(origin, "show", f"{promotion.branch}:apps/prod/shop/web.yaml")
    (step,) = run.progress
    assert step.name == "promote" and step.changed
    assert step.detail == f"opened #1 (web 0.2.0): {promotion.url}"
    assert record.steps[-1] == step
    doc = record.to_dict()
    assert doc["promotions"] == [
        {
            "environments": ["prod"],
            "chart": "web",
            "version": "0.2.0",
            "outcome": "opened",
            "branch": "gitward/promote/web/prod",
            "pullRequest": {"number": 1, "url": promotion.url},
        }
    ]
    assert "promote" in doc["timings"]


def test_running_it_again_finds_the_same_pull_request_up_to_date(origin: Path) -> None:
    run = Run(origin)
    run("prod")
    head = git(origin, "rev-parse", "gitward/promote/web/prod")
    (again,) = run("prod").promotions
    assert (again.outcome, again.number) == ("up-to-date", 1)
    assert len(run.forge.pulls) == 1
    assert git(origin, "rev-parse", "gitward/promote/web/prod") == head
    assert run.progress[-1].changed is False


def test_split_opens_one_pull_request_per_environment(origin: Path) -> None:
    run = Run(origin)
    record = run("staging", "prod", split=True)
    assert [(p.environments, p.number) for p in record.promotions] == [
        (("staging",), 1),
        (("prod",), 2),
    ]
    assert [s.name for s in run.progress] == ["promote:staging", "promote:prod"]


def test_without_the_image_tag_only_the_chart_version_moves(origin: Path) -> None:
    run = Run(origin)
    (promotion,) = run("prod", promotion=Promotion(repo=str(origin), image_tag="")).promotions
    changed = git(origin, "diff", "--name-only", "main", promotion.branch).split()
    assert changed == ["apps/prod/shop/Chart.lock", "apps/prod/shop/Chart.yaml"]


def test_without_a_promoter_token_nothing_is_pushed_and_the_error_says_the_chart_is_published(
    origin: Path,
) -> None:
    run = Run(origin)
    with pytest.raises(PromotionFailed) as e:
        run("prod", token="")
    assert str(e.value) == (
        "--promote prod: no promoter token (set GITWARD_FORGE_TOKEN_PROMOTER); "
        "web 0.2.0 is published, no promotion pull request was opened"
    )
    assert e.value.exit_code == ExitCode.INPUT
    assert run.forge.calls == [] and run.progress == []
    assert git(origin, "branch", "--list", "gitward/*") == ""


class DownForge(FakeForge):
    async def find_pull(self, *, head: str, base: str) -> None:
        self.calls.append("find_pull")
        raise ForgeUnreachable("forge http://127.0.0.1:1: find pull requests: unreachable")


def test_a_forge_that_is_down_is_exit_3_before_any_git_and_says_the_chart_is_published(
    origin: Path,
) -> None:
    run = Run(origin)
    run.forge = DownForge()
    with pytest.raises(PromotionFailed) as e:
        run("prod")
    assert str(e.value) == (
        "forge http://127.0.0.1:1: find pull requests: unreachable; "
        "web 0.2.0 is published, no promotion pull request was opened"
    )
    assert e.value.exit_code == ExitCode.CLUSTER
    assert run.forge.calls == ["find_pull"] and run.forge.closed
    assert git(origin, "branch", "--list", "gitward/*") == ""


def test_an_unknown_environment_fails_naming_it_after_the_publish(origin: Path) -> None:
    run = Run(origin)
    with pytest.raises(PromotionFailed, match=r"no app is in environment 'qa'.*web 0.2.0 is pub"):
        run("qa")
    assert "open_pull" not in run.forge.calls


def test_promote_needs_a_promotion_section_checked_before_anything_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"^gitward-ci.yaml \(there is none\): --promote staging"):
        promotion_for(tmp_path, ("staging",))
    (tmp_path / "gitward-ci.yaml").write_text("promotion:\n  repo: ${CONFIG_REPO}\n")
    monkeypatch.delenv("CONFIG_REPO", raising=False)
    with pytest.raises(ConfigError, match=r"promotion.repo: \$\{CONFIG_REPO\} is not set"):
        promotion_for(tmp_path, ("staging",))
    monkeypatch.setenv("CONFIG_REPO", "https://git.test/shop/config.git")
    assert promotion_for(tmp_path, ("staging",)) == Promotion(
        repo="https://git.test/shop/config.git"
    )


def test_the_command_refuses_promote_without_a_promotion_section_before_any_step(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from gitward.cli.main import cli

    (tmp_path / "gitward-ci.yaml").write_text("chart: {path: chart}\n")
    result = CliRunner().invoke(cli, ["ci", "--repo", str(tmp_path), "--promote", "staging"])
    assert result.exit_code == 2
    assert (
        "gitward-ci.yaml: --promote staging needs a promotion section naming the config "
        "repository" in result.output
    )
    assert "[ci]" not in result.output  # not even the version step ran
