"""``gitward promote`` and ``gitward rollback``: pull requests on the forge, as the promoter."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gitward.cli import output
from gitward.cli.exits import R, errors_to_exit, run
from gitward.cli.options import (
    TenancyArgs,
    forge_kind_option,
    forge_url_option,
    output_option,
    tenancy_options,
)

if TYPE_CHECKING:  # the CLI starts fast: the engine is imported when a command runs
    from gitward.config.apps import AppSpec
    from gitward.config.tenancy import Tenancy
    from gitward.kube import Kube
    from gitward.objects import Manifest
    from gitward.plan.model import Plan
    from gitward.record.history import SyncRecord
    from gitward.source.revisions import Revision
    from gitward.status import AppStatus


class KubeClusterView:
    """:class:`gitward.promote.cluster.ClusterView` on the live cluster, as ``gitward diff``
    and ``gitward status`` see it (the app's own account and the operator's policy)."""

    def __init__(self, kube: Kube, tenancy: Tenancy) -> None:
        self.kube = kube
        self.tenancy = tenancy

    async def plan(self, app: AppSpec, manifests: tuple[Manifest, ...]) -> Plan:
        from gitward.reconcile import SyncOptions, plan_app
        from gitward.tenancy import client_for

        plan, _ = await plan_app(
            kube=self.kube,
            app=app,
            manifests=manifests,
            options=SyncOptions(policy=self.tenancy.policy),
            as_app=client_for(kube=self.kube, app=app, tenancy=self.tenancy),
        )
        return plan

    async def history(self, app: AppSpec) -> list[SyncRecord]:
        from gitward.record import apprecords

        return list((await apprecords.load(self.kube, app.id.key)).history)

    async def status(
        self, app: AppSpec, manifests: tuple[Manifest, ...], revision: Revision
    ) -> AppStatus:
        from gitward.status import app_status
        from gitward.tenancy import client_for

        return await app_status(
            kube=self.kube,
            app=app,
            manifests=manifests,
            revision=revision,
            as_app=client_for(kube=self.kube, app=app, tenancy=self.tenancy),
            policy=self.tenancy.policy,
        )


@dataclass(frozen=True)
class ForgeArgs:
    """The config repository's clone and forge, as the forge options gave them."""

    clone_path: str
    base: str
    kind: str
    url: str
    repo: str
    token: str


def forge_options(fn: Callable[..., R]) -> Callable[..., R]:
    """Where the config repository's forge is, and the promoter's token: one ``forge``."""

    @functools.wraps(fn)
    def bundled(
        *args: Any,
        clone_path: str,
        base: str,
        forge_kind: str,
        forge_url: str,
        forge_repo: str,
        forge_token: str,
        **kwargs: Any,
    ) -> R:
        forge = ForgeArgs(clone_path, base, forge_kind, forge_url, forge_repo, forge_token)
        return fn(*args, forge=forge, **kwargs)

    wrapped: Callable[..., R] = bundled
    for option in reversed(
        [
            click.option(
                "--repo",
                "clone_path",
                default=".",
                show_default=True,
                help="A local clone of the config repository; its origin is on the forge.",
            ),
            click.option("--base", default="main", show_default=True, help="Branch to merge into."),
            forge_kind_option("The forge's API."),
            forge_url_option(""),
            click.option(
                "--forge-repo",
                default="",
                help="owner/name on the forge (default: from the clone's origin).",
            ),
            click.option(
                "--forge-token",
                envvar="GITWARD_FORGE_TOKEN_PROMOTER",
                default="",
                show_envvar=False,
                help="The promoter's token: pushes branches, opens pull requests. "
                "Env: GITWARD_FORGE_TOKEN_PROMOTER.",
            ),
        ]
    ):
        wrapped = option(wrapped)
    return wrapped


def _open(args: ForgeArgs) -> tuple[Any, Any]:
    from gitward.errors import ConfigError
    from gitward.forge import open_forge, repo_of
    from gitward.promote.gitwork import Clone
    from gitward.source.credentials import GitCredentials

    if not args.token:
        raise ConfigError("no promoter token: --forge-token or GITWARD_FORGE_TOKEN_PROMOTER")
    credentials = GitCredentials(
        token=args.token,
        username=os.environ.get("GITWARD_FORGE_USERNAME", "gitward"),
        allow_insecure=os.environ.get("GITWARD_ALLOW_INSECURE", "").lower() in ("1", "true"),
    )
    clone = Clone(path=Path(args.clone_path), credentials=credentials)
    repo = args.repo or repo_of(clone.origin, forge_url=args.url)
    forge = open_forge(kind=args.kind, url=args.url, repo=repo, token=args.token)
    return clone, forge


def _with_cluster(
    tenancy: Tenancy, forge: Any, work: Callable[[KubeClusterView], Coroutine[Any, Any, R]]
) -> R:
    from gitward.cli.workspace import connect

    async def go() -> R:
        try:
            async with connect() as kube:
                return await work(KubeClusterView(kube, tenancy))
        finally:
            await forge.aclose()

    return run(go())


@click.command()
@click.argument("chart")
@click.argument("version", required=False, default="")
@click.option(
    "--env",
    "--to",
    "environments",
    multiple=True,
    help="Environment to promote into (repeatable); default: every app using CHART.",
)
@click.option(
    "--image", default=None, metavar="TAG", help="Also set image.tag in the chart's values file."
)
@click.option("--split", is_flag=True, help="One pull request per environment.")
@click.option(
    "--from",
    "from_environment",
    default="",
    metavar="ENV",
    help="Promote the version running, Healthy, in ENV (instead of VERSION).",
)
@forge_options
@tenancy_options
@output_option
@errors_to_exit
def promote(
    chart: str,
    version: str,
    environments: tuple[str, ...],
    image: str | None,
    split: bool,
    from_environment: str,
    forge: ForgeArgs,
    tenancy_args: TenancyArgs,
    fmt: str,
) -> None:
    """Open (or update) the pull request that moves CHART to VERSION.

    Every app whose umbrella chart depends on CHART (in the environments
    given) is bumped, its lock regenerated with helm, and (with --image) its
    image tag set; checks: the version is published, the result renders and
    passes a server-side dry-run against the cluster.
    """
    from gitward.errors import ConfigError
    from gitward.promote.promoting import PromotionRequest
    from gitward.promote.promoting import promote as promote_

    if bool(version) == bool(from_environment):
        raise ConfigError("give either VERSION or --from ENV")
    if from_environment and not environments:
        raise ConfigError("--from: say which environment to promote into with --to ENV")
    tenancy = tenancy_args.load()
    clone, pulls = _open(forge)
    request = PromotionRequest(
        chart=chart,
        version=version,
        environments=environments,
        image=image,
        split=split,
        base=forge.base,
        from_environment=from_environment,
    )
    done = _with_cluster(
        tenancy,
        pulls,
        lambda view: promote_(clone=clone, forge=pulls, cluster=view, request=request),
    )
    if fmt != "table":
        output.emit([_promotion_view(p) for p in done], fmt)
    else:
        for p in done:
            for b in p.bumps:
                if b.changes:
                    image_note = f", image {b.old_image} -> {b.new_image}" if b.new_image else ""
                    click.echo(f"  {b.app}: {b.file} {b.old} -> {b.new}{image_note}")
            click.echo(p.message)
    sys.exit(0)


def _promotion_view(p: Any) -> dict[str, Any]:
    from gitward.views import document

    return document(
        "Promotion",
        {
            "outcome": p.outcome.value,
            "chart": p.chart,
            "version": p.version,
            "environments": list(p.environments),
            "branch": p.branch,
            "message": p.message,
            "pullRequest": _pull_view(p.pull),
            "bumps": [
                {
                    "app": b.app,
                    "environment": b.environment,
                    "file": b.file,
                    "from": b.old,
                    "to": b.new,
                    **({"image": {"from": b.old_image, "to": b.new_image}} if b.new_image else {}),
                }
                for b in p.bumps
            ],
        },
    )


def _pull_view(pull: Any) -> dict[str, Any] | None:
    if pull is None:
        return None
    return {"number": pull.number, "url": pull.url, "title": pull.title, "head": pull.head}


@click.command()
@click.argument("app")
@click.option("--to", "to", default="", metavar="REVISION", help="A recorded sync's revision.")
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=None,
    help="Go back N syncs of another revision (default 1).",
)
@forge_options
@tenancy_options
@output_option
@errors_to_exit
def rollback(
    app: str,
    to: str,
    steps: int | None,
    forge: ForgeArgs,
    tenancy_args: TenancyArgs,
    fmt: str,
) -> None:
    """Open a pull request restoring APP's files to a recorded sync's revision."""
    from gitward.errors import ConfigError
    from gitward.promote.rollback import RollbackRequest
    from gitward.promote.rollback import rollback as rollback_

    if to and steps is not None:
        raise ConfigError("give --to REVISION or --steps N, not both")
    tenancy = tenancy_args.load()
    clone, pulls = _open(forge)
    request = RollbackRequest(app=app, to=to, steps=steps or 1, base=forge.base)
    done = _with_cluster(
        tenancy,
        pulls,
        lambda view: rollback_(clone=clone, forge=pulls, cluster=view, request=request),
    )
    if fmt != "table":
        from gitward.views import document

        output.emit(
            document(
                "Rollback",
                {
                    "outcome": done.outcome.value,
                    "app": done.app,
                    "to": done.target.revision,
                    "from": done.current.revision,
                    "files": list(done.files),
                    "branch": done.branch,
                    "message": done.message,
                    "pullRequest": _pull_view(done.pull),
                },
            ),
            fmt,
        )
    else:
        for f in done.files:
            click.echo(f"  restored {f}")
        click.echo(done.message)
    sys.exit(0)
