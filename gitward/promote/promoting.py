"""``gitward promote``: a chart version into one or more environments, as a pull request.

The pull request itself is :mod:`gitward.promote.proposing`'s, which needs no
cluster. This module adds what does: the server-side dry-run of every bumped
app (through the :class:`ClusterView`), and ``--from ENV``, which promotes the
version that runs, Healthy, in another environment as the cluster records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gitward.config.loader import load_repo_config
from gitward.errors import GitwardError
from gitward.forge import Forge
from gitward.health import HealthStatus
from gitward.promote.bumping import apps_using
from gitward.promote.cluster import ClusterView
from gitward.promote.errors import PromoteInputError
from gitward.promote.gitwork import Clone
from gitward.promote.proposing import (
    PROMOTER,
    Outcome,
    Promotion,
    PromotionRequest,
    branch_name,
    chosen_apps,
    propose_all,
)
from gitward.record.history import SyncOutcome
from gitward.render import render_app
from gitward.render.helm.charts import norm_version
from gitward.source.revisions import Revision
from gitward.source.urls import source_identity

__all__ = [
    "PROMOTER",
    "Outcome",
    "Promotion",
    "PromotionRequest",
    "branch_name",
    "promote",
    "running_version",
]


async def promote(
    *, clone: Clone, forge: Forge, cluster: ClusterView, request: PromotionRequest
) -> tuple[Promotion, ...]:
    """Open or update the promotion pull request(s); one per environment with ``split``."""
    if request.from_environment:
        version = await running_version(clone=clone, cluster=cluster, request=request)
        request = replace(request, version=version, from_environment="")
    return await propose_all(clone=clone, forge=forge, dry_run=cluster, request=request)


async def running_version(*, clone: Clone, cluster: ClusterView, request: PromotionRequest) -> str:
    """The version of ``request.chart`` that runs Healthy in ``request.from_environment``."""
    env, chart = request.from_environment, request.chart
    base_sha = clone.fetch(request.base)
    if base_sha is None:
        raise PromoteInputError(f"{clone.origin}: has no branch {request.base}")
    found: dict[str, str] = {}
    with clone.worktree(base_sha) as tree:
        config = load_repo_config(tree).from_source(source_identity(clone.origin))
        using = apps_using(tree, chosen_apps(config.apps, (env,)), chart)
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
