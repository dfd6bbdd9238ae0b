"""``gitward promote``: a chart version into one or more environments, as a pull request.

Every promotion is made on a fresh worktree at the forge's base branch, so it
is the same change whoever runs it and whenever: that is what makes it
idempotent. The pull request branch is named by chart and environments, so an
open promotion of the same chart to the same environments is found and
updated (its branch rewritten, its body refreshed) rather than duplicated;
the version git already has is reported and nothing is pushed.

Nothing reaches the forge before the checks pass: the chart repository must
publish the version (helm resolves the new lock), every bumped app must render,
and its server-side dry-run against the live cluster must pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gitward.config.apps import AppSpec
from gitward.config.loader import load_repo_config
from gitward.errors import GitwardError, RenderError
from gitward.forge import Forge, PullRequest
from gitward.health import HealthStatus
from gitward.promote import notes
from gitward.promote.branches import fetch_both, open_or_update, push_once
from gitward.promote.bumping import Bump, apps_using, bump_app
from gitward.promote.cluster import ClusterView
from gitward.promote.errors import PromoteInputError
from gitward.promote.gitwork import Clone, Identity
from gitward.record.history import SyncOutcome
from gitward.render import render_app
from gitward.render.helm.charts import norm_version
from gitward.review.markdown import AppPreview
from gitward.source.revisions import Revision
from gitward.source.urls import source_identity

PROMOTER = Identity("gitward promoter", "promoter@gitward.invalid")


class Outcome(StrEnum):
    OPENED = "opened"  # a new pull request
    UPDATED = "updated"  # the open one for this chart and these environments, rewritten
    UP_TO_DATE = "up-to-date"  # the open one already says exactly this
    IN_GIT = "in-git"  # the base branch already has the version: nothing to do


@dataclass(frozen=True)
class PromotionRequest:
    chart: str
    version: str  # "" with from_environment: what runs there
    environments: tuple[str, ...] = ()
    image: str | None = None
    split: bool = False
    base: str = "main"
    from_environment: str = ""
    author: Identity = PROMOTER


@dataclass(frozen=True)
class Promotion:
    outcome: Outcome
    chart: str
    version: str
    environments: tuple[str, ...]
    branch: str
    bumps: tuple[Bump, ...] = ()
    pull: PullRequest | None = None
    previews: tuple[AppPreview, ...] = ()

    @property
    def message(self) -> str:
        where = f" in {', '.join(self.environments)}" if self.environments else ""
        if self.outcome is Outcome.IN_GIT:
            return f"{self.chart} is already at {self.version}{where} in git; nothing to do"
        assert self.pull is not None
        return f"{self.outcome.value} #{self.pull.number}: {self.pull.title} {self.pull.url}"


def branch_name(chart: str, environments: Sequence[str]) -> str:
    return "gitward/promote/" + chart + ("/" + "+".join(environments) if environments else "")


async def promote(
    *, clone: Clone, forge: Forge, cluster: ClusterView, request: PromotionRequest
) -> tuple[Promotion, ...]:
    """Open or update the promotion pull request(s); one per environment with ``split``."""
    if request.from_environment:
        version = await running_version(clone=clone, cluster=cluster, request=request)
        request = PromotionRequest(
            chart=request.chart,
            version=version,
            environments=request.environments,
            image=request.image,
            split=request.split,
            base=request.base,
            author=request.author,
        )
    groups = [(e,) for e in request.environments] if request.split else [request.environments]
    return tuple(
        [
            await _promote(clone=clone, forge=forge, cluster=cluster, request=request, envs=g)
            for g in groups
        ]
    )


def _chosen(root_apps: tuple[AppSpec, ...], envs: Sequence[str]) -> tuple[AppSpec, ...]:
    if not envs:
        return root_apps
    known = {a.environment for a in root_apps}
    unknown = [e for e in envs if e not in known]
    if unknown:
        listed = ", ".join(sorted(k for k in known if k)) or "none"
        raise PromoteInputError(
            f"gitward.yaml: no app is in environment {unknown[0]!r} (environments: {listed})"
        )
    return tuple(a for a in root_apps if a.environment in envs)


async def _promote(
    *,
    clone: Clone,
    forge: Forge,
    cluster: ClusterView,
    request: PromotionRequest,
    envs: tuple[str, ...],
) -> Promotion:
    chart, version = request.chart, request.version
    branch = branch_name(chart, envs)
    for attempt in (1, 2):
        base_sha, remote = fetch_both(clone, base=request.base, branch=branch)
        with clone.worktree(base_sha) as tree:
            config = load_repo_config(tree).from_source(source_identity(clone.origin))
            chosen = _chosen(config.apps, envs)
            using = apps_using(tree, chosen, chart)
            if not using:
                names = ", ".join(a.name for a in chosen) or "none"
                raise PromoteInputError(
                    f"chart {chart}: no app{_in(envs)} depends on it (apps: {names})"
                )
            bumps = tuple(
                bump_app(tree, app, chart=chart, version=version, image=request.image)
                for app in using
            )
            if not any(b.changes for b in bumps):
                return Promotion(Outcome.IN_GIT, chart, version, envs, branch, bumps)
            previews = tuple(
                [
                    await _preview(cluster, app, tree)
                    for app, b in zip(using, bumps, strict=True)
                    if b.changes
                ]
            )
            failed = next((p for p in previews if p.failed), None)
            if failed is not None:
                raise PromoteInputError(
                    f"{failed.first_error}; the dry-run against the cluster failed, "
                    "no pull request opened"
                )
            if remote is not None:
                _keep_lock_times(clone, tree, remote, bumps)
            title = notes.title(chart, version, envs)
            message = _commit_message(title, bumps)
            sha = clone.commit(tree, message=message, author=request.author)
            assert sha is not None  # bumps changed files
            # Ask the forge first: unreachable, or a token it refuses, and nothing is pushed.
            pull = await forge.find_pull(head=branch, base=request.base)
            doing = "promoting"
            if not push_once(clone, tree, sha, branch, remote, attempt=attempt, doing=doing):
                continue
        body = notes.body(
            chart=chart, version=version, environments=envs, bumps=bumps, previews=previews
        )
        done, pull = await open_or_update(
            forge, pull, branch=branch, base=request.base, title=title, body=body
        )
        return Promotion(Outcome(done), chart, version, envs, branch, bumps, pull, previews)
    raise AssertionError("unreachable")


def _in(envs: Sequence[str]) -> str:
    return f" in {', '.join(envs)}" if envs else " in gitward.yaml"


async def _preview(cluster: ClusterView, app: AppSpec, tree: Path) -> AppPreview:
    try:
        rendered = render_app(app=app, root=tree)
        plan = await cluster.plan(app, tuple(rendered.manifests))
    except RenderError as e:
        return AppPreview(app=app.name, error=str(e))
    return AppPreview(app=app.name, plan=plan)


def _keep_lock_times(clone: Clone, tree: Path, remote: str, bumps: Sequence[Bump]) -> None:
    """Keep the branch's lock where only helm's ``generated:`` time differs.

    helm stamps every lock it writes with the time; promoting the same thing
    twice must give the same commit, or the pull request is pushed to (and
    previewed) again for nothing.
    """
    for bump in bumps:
        if not bump.lock:
            continue
        theirs = clone.file_at(remote, bump.lock)
        ours = (tree / bump.lock).read_text(encoding="utf-8")
        if theirs is not None and _without_time(theirs) == _without_time(ours):
            (tree / bump.lock).write_text(theirs, encoding="utf-8")


def _without_time(lock: str) -> list[str]:
    return [line for line in lock.splitlines() if not line.startswith("generated:")]


def _commit_message(title: str, bumps: Sequence[Bump]) -> str:
    lines = [title, ""]
    for b in bumps:
        if not b.changes:
            continue
        image = f", image {b.old_image} -> {b.new_image}" if b.new_image else ""
        lines.append(f"- {b.app}: {b.file} {b.old} -> {b.new}{image}")
    return "\n".join(lines) + "\n"


async def running_version(*, clone: Clone, cluster: ClusterView, request: PromotionRequest) -> str:
    """The version of ``request.chart`` that runs Healthy in ``request.from_environment``."""
    env, chart = request.from_environment, request.chart
    base_sha = clone.fetch(request.base)
    if base_sha is None:
        raise PromoteInputError(f"{clone.origin}: has no branch {request.base}")
    found: dict[str, str] = {}
    with clone.worktree(base_sha) as tree:
        config = load_repo_config(tree).from_source(source_identity(clone.origin))
        using = apps_using(tree, _chosen(config.apps, (env,)), chart)
        if not using:
            raise PromoteInputError(f"chart {chart}: no app in environment {env} depends on it")
        for app in using:
            records = await cluster.history(app)
            last = records[0] if records else None
            running = _chart_version(last.charts, chart) if last else None
            if last is None or last.result is not SyncOutcome.SUCCEEDED or running is None:
                said = f"its last sync {last.result.value}" if last else "it was never synced"
                raise PromoteInputError(
                    f"app {app.name} ({env}): no successful sync of chart {chart} to promote "
                    f"from ({said})"
                )
            rendered = render_app(app=app, root=tree)
            try:
                status = await cluster.status(
                    app, tuple(rendered.manifests), Revision(sha=base_sha)
                )
            except GitwardError as e:
                raise PromoteInputError(
                    f"app {app.name} ({env}): cannot tell its health: {e}"
                ) from e
            health = status.health.status if status.health else None
            if health is not HealthStatus.HEALTHY:
                why = status.reason or (health.value if health else "no health")
                raise PromoteInputError(
                    f"app {app.name} ({env}) runs {chart} {running} but is not Healthy "
                    f"({why}); refusing to promote it"
                )
            found[app.name] = running
    versions = {norm_version(v) for v in found.values()}
    if len(versions) != 1:
        listed = ", ".join(f"{a} runs {v}" for a, v in found.items())
        raise PromoteInputError(f"chart {chart}: {env} runs more than one version ({listed})")
    return next(iter(found.values()))


def _chart_version(charts: Sequence[str], chart: str) -> str | None:
    """CHART's version in a history record's ``name@version`` entries, which may end
    with `` (commit <sha>)`` when ``gitward ci`` built the chart."""
    for entry in charts:
        name, _, version = entry.partition(" ")[0].rpartition("@")
        if name == chart:
            return version
    return None
