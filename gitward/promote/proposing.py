"""Proposing a chart version as a pull request: the part of a promotion that needs no cluster.

Every promotion is made on a fresh worktree at the forge's base branch, so it
is the same change whoever runs it and whenever: that is what makes it
idempotent. The pull request branch is named by chart and environments, so an
open promotion of the same chart to the same environments is found and
updated (its branch rewritten, its body refreshed) rather than duplicated;
the version git already has is reported and nothing is pushed.

Nothing reaches the forge before the checks pass: the chart repository must
publish the version (helm resolves the new lock) and, given a :class:`DryRun`,
every bumped app must render and pass a server-side dry-run against the live
cluster. Without one (``gitward ci --promote``: the build side holds no cluster
credential) the body says the controller's preview comment carries the plan.

This module reaches neither the cluster nor its records, so the build side may
use it; :mod:`gitward.promote.promoting` adds what reads the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from gitward.config.apps import AppSpec
from gitward.config.loader import load_repo_config
from gitward.errors import RenderError
from gitward.forge import Forge, PullRequest
from gitward.objects import Manifest
from gitward.plan.model import Plan
from gitward.promote import notes
from gitward.promote.branches import fetch_both, open_or_update, push_once
from gitward.promote.bumping import Bump, apps_using, bump_app
from gitward.promote.errors import PromoteInputError
from gitward.promote.gitwork import Clone, Identity
from gitward.render import render_app
from gitward.review.markdown import AppPreview
from gitward.source.urls import source_identity

PROMOTER = Identity("gitward promoter", "promoter@gitward.invalid")


class DryRun(Protocol):
    async def plan(self, app: AppSpec, manifests: tuple[Manifest, ...]) -> Plan:
        """A server-side dry-run of ``manifests`` against the live cluster, with diffs."""
        ...


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
    image_key: str = "image.tag"  # where the image tag goes in the chart's values file
    split: bool = False
    base: str = "main"
    from_environment: str = ""
    author: Identity = PROMOTER
    by: str = "gitward promote"  # the command named in the body, to run again


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


async def propose_all(
    *, clone: Clone, forge: Forge, dry_run: DryRun | None, request: PromotionRequest
) -> tuple[Promotion, ...]:
    """Open or update the promotion pull request(s) of ``request.version``; one per
    environment with ``split``."""
    groups = [(e,) for e in request.environments] if request.split else [request.environments]
    return tuple(
        [
            await propose(clone=clone, forge=forge, dry_run=dry_run, request=request, envs=g)
            for g in groups
        ]
    )


def chosen_apps(root_apps: tuple[AppSpec, ...], envs: Sequence[str]) -> tuple[AppSpec, ...]:
    """The apps of ``envs`` (all without any); an unknown environment is refused."""
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


async def propose(
    *,
    clone: Clone,
    forge: Forge,
    dry_run: DryRun | None,
    request: PromotionRequest,
    envs: tuple[str, ...],
) -> Promotion:
    """One pull request bumping ``request.chart`` to ``request.version`` in ``envs``."""
    chart, version = request.chart, request.version
    branch = branch_name(chart, envs)
    for attempt in (1, 2):
        base_sha, remote = fetch_both(clone, base=request.base, branch=branch)
        with clone.worktree(base_sha) as tree:
            config = load_repo_config(tree).from_source(source_identity(clone.origin))
            chosen = chosen_apps(config.apps, envs)
            using = apps_using(tree, chosen, chart)
            if not using:
                names = ", ".join(a.name for a in chosen) or "none"
                raise PromoteInputError(
                    f"chart {chart}: no app{_in(envs)} depends on it (apps: {names})"
                )
            bumps = tuple(
                bump_app(
                    tree,
                    app,
                    chart=chart,
                    version=version,
                    image=request.image,
                    image_key=request.image_key,
                )
                for app in using
            )
            if not any(b.changes for b in bumps):
                return Promotion(Outcome.IN_GIT, chart, version, envs, branch, bumps)
            previews: tuple[AppPreview, ...] | None = None
            if dry_run is not None:
                previews = tuple(
                    [
                        await _preview(dry_run, app, tree)
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
            chart=chart,
            version=version,
            environments=envs,
            bumps=bumps,
            previews=previews,
            by=request.by,
        )
        done, pull = await open_or_update(
            forge, pull, branch=branch, base=request.base, title=title, body=body
        )
        return Promotion(Outcome(done), chart, version, envs, branch, bumps, pull, previews or ())
    raise AssertionError("unreachable")


def _in(envs: Sequence[str]) -> str:
    return f" in {', '.join(envs)}" if envs else " in gitward.yaml"


async def _preview(dry_run: DryRun, app: AppSpec, tree: Path) -> AppPreview:
    try:
        rendered = render_app(app=app, root=tree)
        plan = await dry_run.plan(app, tuple(rendered.manifests))
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
