"""``gitward``: the command line.

Exit codes (the README lists them too):

====  ==============================================================
0     success; for ``diff`` and ``status``: in sync and healthy
1     ``diff``: there are differences; ``status``: OutOfSync or not healthy
2     bad input: gitward.yaml, a revision, rendering, or a plan that failed validation
3     the cluster refused or failed a change, or could not be reached
4     ``--wait``: an object became Degraded or the timeout passed
====  ==============================================================
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from gitward.cli import output
from gitward.errors import GitwardError
from gitward.kube import KubeError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK, EXIT_DIFF, EXIT_INPUT, EXIT_CLUSTER, EXIT_HEALTH = 0, 1, 2, 3, 4


def fail(message: str, code: int) -> NoReturn:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


def errors_to_exit(fn: Callable[P, R]) -> Callable[P, R]:
    """Print a GitwardError as one line and exit with its code; never a traceback."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from gitward.apply.applier import ApplyFailed
        from gitward.sync import HealthTimeout

        try:
            return fn(*args, **kwargs)
        except HealthTimeout as e:
            fail(str(e), EXIT_HEALTH)
        except (KubeError, ApplyFailed) as e:
            fail(str(e), EXIT_CLUSTER)
        except GitwardError as e:
            fail(str(e), EXIT_INPUT)

    return wrapper


def run(coro: Coroutine[Any, Any, R]) -> R:
    return asyncio.run(coro)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gitward")
@click.option(
    "--insecure-skip-tls",
    is_flag=True,
    help="Allow git credentials over http:// or git:// to a non-loopback host. "
    "Env: GITWARD_ALLOW_INSECURE=1.",
)
def cli(insecure_skip_tls: bool) -> None:
    """GitOps delivery for Kubernetes: git is the only source of truth."""
    if insecure_skip_tls:
        import os

        # Read where credentials are gathered, by the CLI and the controller alike.
        os.environ["GITWARD_ALLOW_INSECURE"] = "1"


# -- dev ------------------------------------------------------------------


@cli.group()
def dev() -> None:
    """A local control plane (etcd, apiserver, controller-manager, scheduler, kwok), registry."""


@dev.command("up")
@click.option("--apiserver-port", type=int, default=None, envvar="GITWARD_DEV_APISERVER_PORT")
@click.option("--registry-port", type=int, default=None, envvar="GITWARD_DEV_REGISTRY_PORT")
@errors_to_exit
def dev_up(apiserver_port: int | None, registry_port: int | None) -> None:
    """Start the local cluster and registry; reuse them if they already run."""
    from gitward.dev import cluster

    result = cluster.up(apiserver_port=apiserver_port, registry_port=registry_port)
    c = result.cluster
    click.echo("already running" if result.already_running else "started")
    click.echo(f"kubeconfig: {c.kubeconfig}")
    click.echo(f"apiserver:  {c.apiserver}")
    click.echo(f"registry:   {c.registry}")


@dev.command("down")
@errors_to_exit
def dev_down() -> None:
    """Stop every process ``dev up`` started."""
    from gitward.dev import cluster

    click.echo("stopped" if cluster.down() else "no dev cluster is running")


@dev.command("env")
@errors_to_exit
def dev_env() -> None:
    """Print ``export`` lines for the running dev cluster."""
    from gitward.dev import cluster

    c = cluster.current()
    if c is None:
        strays = cluster.strays()
        if strays:
            fail(
                f"no dev cluster is running, but a half-started one left "
                f"{', '.join(map(str, strays))} under {cluster.state_dir()}; "
                "run 'gitward dev down' to stop them",
                EXIT_INPUT,
            )
        fail("no dev cluster is running; run 'gitward dev up'", EXIT_INPUT)
    for key, value in c.env().items():
        click.echo(f"export {key}={value}")


# -- deploy side ------------------------------------------------------------

repo_option = click.option(
    "--repo",
    envvar="GITWARD_REPO",
    default=".",
    show_default=True,
    help="Config repository: a git URL or a local directory. Env: GITWARD_REPO.",
)
revision_option = click.option(
    "--revision",
    envvar="GITWARD_REVISION",
    default=None,
    help="Branch, tag or SHA. Default: a local directory as it is on disk, "
    "else the remote's HEAD. Env: GITWARD_REVISION.",
)
output_option = click.option(
    "-o", "--output", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True
)


@cli.command()
@click.argument("app")
@repo_option
@revision_option
@errors_to_exit
def render(app: str, repo: str, revision: str | None) -> None:
    """Print the manifests APP renders to, as YAML."""
    import yaml

    from gitward.cli.workspace import open_app

    opened = open_app(repo=repo, revision=revision, app=app)
    click.echo(
        yaml.safe_dump_all([m.body for m in opened.rendered.manifests], sort_keys=False).rstrip()
    )


@cli.command()
@click.argument("app")
@repo_option
@revision_option
@output_option
@click.option("--force-conflicts", is_flag=True, help="Take over fields other managers own.")
@errors_to_exit
def diff(app: str, repo: str, revision: str | None, fmt: str, force_conflicts: bool) -> None:
    """Show what a sync of APP would change. Exit 1 when anything would."""
    from gitward.cli.views import plan_view
    from gitward.cli.workspace import connect, open_app
    from gitward.sync import PlanInvalid, SyncOptions, plan_app

    opened = open_app(repo=repo, revision=revision, app=app)

    async def go() -> Any:
        async with connect() as kube:
            return await plan_app(
                kube=kube,
                app=opened.app,
                manifests=opened.rendered.manifests,
                options=SyncOptions(force_conflicts=force_conflicts),
            )

    plan, _ = run(go())
    if plan.errors:
        raise PlanInvalid(app, plan.errors)
    if fmt != "table":
        output.emit(plan_view(plan), fmt)
    else:
        for o in plan.changes:
            click.echo(f"{output.colour(o.action.value)} {o.ref} ({o.source})")
            output.diff(o.diff)
        if plan.in_sync:
            click.echo(f"{app}: in sync ({len(plan.objects)} objects)")
    sys.exit(EXIT_OK if plan.in_sync else EXIT_DIFF)


@cli.command()
@click.argument("app", required=False)
@repo_option
@revision_option
@output_option
@click.option("--dry-run", is_flag=True, help="Plan and validate only; write nothing.")
@click.option("--wait", is_flag=True, help="Wait until every object is healthy.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds for --wait.")
@click.option("--force-conflicts", is_flag=True, help="Take over fields other managers own.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=16, show_default=True)
@errors_to_exit
def sync(
    app: str | None,
    repo: str,
    revision: str | None,
    fmt: str,
    dry_run: bool,
    wait: bool,
    timeout: float,
    force_conflicts: bool,
    concurrency: int,
) -> None:
    """Make the cluster match git for APP, or for every app in dependsOn order."""
    from gitward.cli.views import sync_view
    from gitward.cli.workspace import connect, open_workspace, render_app_in
    from gitward.errors import ConfigError
    from gitward.sync import SyncOptions, sync_app

    ws = open_workspace(repo=repo, revision=revision)
    apps = ws.config.apps
    if app is not None:
        chosen = ws.config.app(app)
        if chosen is None:
            raise ConfigError(f"gitward.yaml: no app named {app!r}")
        apps = (chosen,)
    options = SyncOptions(
        dry_run=dry_run,
        wait=wait,
        timeout=timeout,
        force_conflicts=force_conflicts,
        concurrency=concurrency,
    )
    views = []

    async def go() -> None:
        async with connect() as kube:
            for spec in apps:
                rendered = render_app_in(ws, spec)
                started = time.monotonic()
                with output.progress(f"{spec.name}: syncing", enabled=fmt == "table"):
                    result = await sync_app(
                        kube=kube,
                        app=spec,
                        manifests=rendered.manifests,
                        revision=ws.revision,
                        charts=tuple(f"{c.name}@{c.version}" for c in rendered.charts),
                        options=options,
                    )
                view = sync_view(result)
                views.append(view)
                if fmt == "table":
                    _print_sync(result, time.monotonic() - started)

    run(go())
    if fmt != "table":
        output.emit(views if app is None else views[0], fmt)


def _print_sync(result: Any, elapsed: float) -> None:
    from gitward.apply.changes import Outcome

    changes = result.changes
    if changes is None:
        for o in result.plan.changes:
            click.echo(f"  {output.colour(o.action.value)} {o.ref}")
            output.diff(o.diff)
        click.echo(f"{result.app}: dry run, {len(result.plan.changes)} change(s) planned")
        return
    for c in changes.changes:
        if c.outcome is not Outcome.UNCHANGED:
            click.echo(f"  {output.colour(c.outcome.value)} {c.ref} {c.message}".rstrip())
    summary = ", ".join(f"{n} {o.value}" for o in Outcome if (n := changes.count(o)))
    rev = result.revision.sha[:12] or "working tree"
    health = f", {output.colour(result.health.status.value)}" if result.health else ""
    click.echo(
        f"{result.app}: synced {rev} ({summary or 'nothing to do'}){health} in {elapsed:.1f}s"
    )


@cli.command()
@click.argument("app", required=False)
@repo_option
@revision_option
@output_option
@errors_to_exit
def status(app: str | None, repo: str, revision: str | None, fmt: str) -> None:
    """Sync state and health, per app and per object. Exit 1 unless all Synced and Healthy."""
    from gitward.cli.views import status_view
    from gitward.cli.workspace import connect, open_workspace, render_app_in
    from gitward.errors import ConfigError
    from gitward.status import app_status

    ws = open_workspace(repo=repo, revision=revision)
    apps = ws.config.apps
    if app is not None:
        chosen = ws.config.app(app)
        if chosen is None:
            raise ConfigError(f"gitward.yaml: no app named {app!r}")
        apps = (chosen,)

    async def go() -> list[dict[str, Any]]:
        async with connect() as kube:
            return [
                status_view(
                    await app_status(
                        kube=kube,
                        app=spec,
                        manifests=render_app_in(ws, spec).manifests,
                        revision=ws.revision,
                    )
                )
                for spec in apps
            ]

    views = run(go())
    ok = all(v["sync"] == "Synced" and v["health"] == "Healthy" for v in views)
    if fmt != "table":
        output.emit(views if app is None else views[0], fmt)
    else:
        output.table(
            ["APP", "SYNC", "HEALTH", "REVISION", "OBJECTS"],
            [
                [
                    v["app"],
                    v["sync"],
                    v["health"],
                    (v["revision"] or "")[:12],
                    str(len(v["objects"])),
                ]
                for v in views
            ],
        )
        for v in views:
            click.echo("")
            output.table(
                ["OBJECT", "SYNC", "HEALTH", "MESSAGE"],
                [[o["object"], o["sync"], o["health"], o["message"]] for o in v["objects"]],
            )
    sys.exit(EXIT_OK if ok else EXIT_DIFF)


@cli.command()
@click.argument("app")
@output_option
@errors_to_exit
def history(app: str, fmt: str) -> None:
    """The last syncs of APP, newest first, as recorded in the cluster."""
    from gitward.cli.workspace import connect
    from gitward.record import history as hist

    async def go() -> list[hist.SyncRecord]:
        async with connect() as kube:
            return await hist.load(kube, app)

    records = run(go())
    if fmt != "table":
        output.emit([r.to_doc() for r in records], fmt)
        return
    if not records:
        click.echo(f"{app}: no sync recorded")
        return
    output.table(
        ["STARTED", "REVISION", "RESULT", "CHANGES", "AUTHOR", "SUBJECT"],
        [
            [
                r.started_at,
                r.revision[:12],
                r.result,
                ", ".join(f"{n} {k}" for k, n in sorted(r.counts.items()) if k != "unchanged")
                or "-",
                r.author,
                r.subject,
            ]
            for r in records
        ],
    )


@cli.command()
@click.option("--repo", envvar="GITWARD_REPO", required=True, help="Config repository URL.")
@click.option("--revision", envvar="GITWARD_REVISION", default="main", show_default=True)
@click.option("--poll-interval", type=float, default=60.0, show_default=True, help="Seconds.")
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    help="HOST:PORT of the HTTP API (webhooks, status, metrics).",
)
@click.option(
    "--leader-election/--no-leader-election",
    default=True,
    show_default=True,
    help="Run active/standby on a Lease (for more than one replica).",
)
@click.option("--lease-name", default="gitward-controller", show_default=True)
@click.option("--lease-seconds", type=click.FloatRange(min=1.0), default=15.0, show_default=True)
@errors_to_exit
def controller(
    repo: str,
    revision: str,
    poll_interval: float,
    listen: str,
    leader_election: bool,
    lease_name: str,
    lease_seconds: float,
) -> None:
    """Reconcile every app continuously; put hand edits back (selfHeal).

    Webhook secret: env GITWARD_WEBHOOK_SECRET. Records namespace: GITWARD_NAMESPACE.
    """
    import logging
    import os

    from gitward.cli.workspace import connect
    from gitward.errors import ConfigError
    from gitward.heal.controller import ControllerOptions
    from gitward.heal.leader import LeaseConfig
    from gitward.heal.runner import RunOptions
    from gitward.heal.runner import run as run_controller
    from gitward.record.store import record_namespace

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # One line per HTTP request would be most of the log and a good share of the CPU.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--listen {listen!r}: expected HOST:PORT")
    options = RunOptions(
        controller=ControllerOptions(repo=repo, revision=revision, poll_interval=poll_interval),
        host=host,
        port=int(port),
        leader_election=leader_election,
        lease=LeaseConfig(
            name=lease_name,
            namespace=record_namespace(),
            lease_seconds=lease_seconds,
            renew_every=max(lease_seconds / 3, 0.5),
        ),
        webhook_secret=os.environ.get("GITWARD_WEBHOOK_SECRET", ""),
    )

    async def go() -> None:
        async with connect() as kube:
            await run_controller(options, kube=kube)

    run(go())


def main() -> None:
    cli(prog_name="gitward")


__all__ = ["cli", "main"]
