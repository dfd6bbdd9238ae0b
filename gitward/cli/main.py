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
import contextlib
import sys
import time
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from gitward.cli import output
from gitward.errors import ExitCode, GitwardError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK, EXIT_DIFF, EXIT_INPUT = ExitCode.OK, ExitCode.DIFF, ExitCode.INPUT


def fail(message: str, code: int) -> NoReturn:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


def errors_to_exit(fn: Callable[P, R]) -> Callable[P, R]:
    """Print a GitwardError as one line and exit with its code; never a traceback.

    An error that stands for several (a plan with many invalid objects) says
    "(and N more)"; ``-v`` lists the others on the lines after it, and ``-o
    json|yaml`` prints them all as ``{"error": …, "errors": […]}`` on stdout.
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from gitward.reconcile import exit_code_of

        try:
            return fn(*args, **kwargs)
        except GitwardError as e:
            _failed(e, exit_code_of(e), kwargs.get("fmt"))

    return wrapper


def _failed(e: GitwardError, code: int, fmt: object) -> NoReturn:
    every = [str(x) for x in getattr(e, "errors", ())]
    if fmt in ("json", "yaml"):
        output.emit({"error": str(e), "errors": every or [str(e)], "exitCode": code}, str(fmt))
    ctx = click.get_current_context(silent=True)
    verbose = bool(ctx and ctx.find_root().params.get("verbose"))
    if verbose and len(every) > 1:
        click.echo(click.style("error: ", fg="red", bold=True) + str(e), err=True)
        for more in every[1:]:
            click.echo(f"  also: {more}", err=True)
        sys.exit(code)
    fail(str(e), code)


def run(coro: Coroutine[Any, Any, R]) -> R:
    return asyncio.run(coro)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gitward")
@click.option("-v", "--verbose", is_flag=True, help="Errors: list every one, not just the first.")
@click.option(
    "--insecure-skip-tls",
    is_flag=True,
    help="Allow git credentials over http:// or git:// to a non-loopback host. "
    "Env: GITWARD_ALLOW_INSECURE=1.",
)
def cli(verbose: bool, insecure_skip_tls: bool) -> None:
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


def tenancy_options(fn: Callable[P, R]) -> Callable[P, R]:
    """``--default-service-account`` and ``--policy``: the operator's bounds on every app."""
    fn = click.option(
        "--policy",
        "policy_file",
        envvar="GITWARD_POLICY",
        default=None,
        metavar="FILE",
        help="Which namespaces and cluster-scoped kinds each app may deploy. Env: GITWARD_POLICY.",
    )(fn)
    return click.option(
        "--default-service-account",
        envvar="GITWARD_DEFAULT_SERVICE_ACCOUNT",
        default=None,
        metavar="NAME",
        help="Run apps without serviceAccountName as this ServiceAccount of their namespace. "
        "Env: GITWARD_DEFAULT_SERVICE_ACCOUNT.",
    )(fn)


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
@click.option(
    "--force-conflicts/--no-force-conflicts",
    default=True,
    show_default=True,
    help="Take back fields git sets from other writers (a hand edit, say); "
    "--no-force-conflicts refuses instead.",
)
@tenancy_options
@errors_to_exit
def diff(
    app: str,
    repo: str,
    revision: str | None,
    fmt: str,
    force_conflicts: bool,
    default_service_account: str | None,
    policy_file: str | None,
) -> None:
    """Show what a sync of APP would change. Exit 1 when anything would."""
    from gitward.cli.views import plan_view
    from gitward.cli.workspace import connect, open_app
    from gitward.config.tenancy import load_tenancy
    from gitward.reconcile import PlanInvalid, SyncOptions, plan_app
    from gitward.tenancy import client_for

    tenancy = load_tenancy(default_service_account=default_service_account, policy_file=policy_file)
    opened = open_app(repo=repo, revision=revision, app=app)

    async def go() -> Any:
        async with connect() as kube:
            return await plan_app(
                kube=kube,
                app=opened.app,
                manifests=opened.rendered.manifests,
                options=SyncOptions(force_conflicts=force_conflicts, policy=tenancy.policy),
                as_app=client_for(kube=kube, app=opened.app, tenancy=tenancy),
            )

    plan, _ = run(go())
    if plan.errors:
        raise PlanInvalid(app, plan.errors)
    if fmt != "table":
        output.emit(plan_view(plan), fmt)
    else:
        for o in plan.changes:
            reason = f": {o.reason}" if o.reason else ""
            click.echo(f"{output.colour(o.action.value)} {o.ref} ({o.source}){reason}")
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
@click.option(
    "--force-conflicts/--no-force-conflicts",
    default=True,
    show_default=True,
    help="Take back fields git sets from other writers (a hand edit, say); "
    "--no-force-conflicts refuses instead.",
)
@click.option("--concurrency", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option(
    "--adopt",
    is_flag=True,
    help="Hand the app over to this repository when its records name another source.",
)
@click.option(
    "--prune-apps",
    is_flag=True,
    help="Without APP: apps removed from gitward.yaml lose their objects (if they pruned) "
    "and their records.",
)
@click.option(
    "--allow-crd-prune",
    is_flag=True,
    help="Let prune delete CRDs that left git, and with them every custom resource of "
    'their kinds (else only CRDs annotated gitward.io/prune: "true").',
)
@tenancy_options
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
    adopt: bool,
    prune_apps: bool,
    allow_crd_prune: bool,
    default_service_account: str | None,
    policy_file: str | None,
) -> None:
    """Make the cluster match git for APP, or for every app in dependsOn order.

    Without APP, an app that fails does not stop the others; the apps that depend
    on it are skipped. A summary table ends the run, which exits with the worst code.
    """
    from gitward.cli.views import run_view, sync_view
    from gitward.cli.workspace import connect, open_workspace, render_app_in
    from gitward.config.tenancy import load_tenancy
    from gitward.errors import ConfigError, RenderError
    from gitward.reconcile import SyncOptions, exit_code_of, record_unrendered, sync_app
    from gitward.record.history import SyncOutcome
    from gitward.retire import retire_removed
    from gitward.runs import AppRun, blocker, skipped, worst
    from gitward.source.opening import source_of
    from gitward.tenancy import client_for, service_account_for

    tenancy = load_tenancy(default_service_account=default_service_account, policy_file=policy_file)
    ws = open_workspace(repo=repo, revision=revision)
    apps = ws.chosen(app)
    options = SyncOptions(
        dry_run=dry_run,
        wait=wait,
        timeout=timeout,
        force_conflicts=force_conflicts,
        concurrency=concurrency,
        adopt=adopt,
        policy=tenancy.policy,
        allow_crd_prune=allow_crd_prune,
    )
    for spec in apps:
        # An app that cannot be given its account fails before any app is synced.
        service_account_for(app=spec, tenancy=tenancy)
    views: list[dict[str, Any]] = []
    runs: list[AppRun] = []

    async def go() -> None:
        async with connect() as kube:
            unsuccessful: dict[str, SyncOutcome] = {}
            for spec in apps:
                blocked_by = blocker(spec, unsuccessful)
                if blocked_by is not None:
                    run_ = skipped(spec, blocked_by, unsuccessful[blocked_by])
                    views.append(run_view(run_))
                else:
                    started = time.monotonic()
                    try:
                        rendered = render_app_in(ws, spec)
                        with output.progress(f"{spec.name}: syncing", enabled=fmt == "table"):
                            result = await sync_app(
                                kube=kube,
                                app=spec,
                                manifests=rendered.manifests,
                                revision=ws.revision,
                                charts=tuple(f"{c.name}@{c.version}" for c in rendered.charts),
                                options=options,
                                as_app=client_for(kube=kube, app=spec, tenancy=tenancy),
                                on_wait_progress=(output.WaitReporter(spec.name) if wait else None),
                            )
                    except GitwardError as e:
                        if isinstance(e, RenderError) and not dry_run:
                            with contextlib.suppress(GitwardError):
                                # The render error is the news; a failure to record it is not.
                                await record_unrendered(
                                    kube=kube,
                                    app=spec,
                                    revision=ws.revision,
                                    error=e,
                                    options=options,
                                )
                        if app is not None:
                            raise
                        # What could not even be tried (rendering, a corrupt record)
                        # fails this app alone.
                        run_ = AppRun(spec.name, SyncOutcome.FAILED, str(e), exit_code_of(e))
                        views.append(run_view(run_))
                    else:
                        run_ = AppRun(spec.name, result.outcome, result.reason, result.exit_code)
                        views.append(sync_view(result))
                        if fmt == "table":
                            _print_sync(result, time.monotonic() - started)
                if not run_.succeeded:
                    unsuccessful[spec.name] = run_.outcome
                    if run_.outcome is not SyncOutcome.SKIPPED:
                        click.echo(
                            click.style("error: ", fg="red", bold=True) + run_.reason, err=True
                        )
                runs.append(run_)
            if prune_apps and app is None and not dry_run:
                for done in await retire_removed(
                    kube, source=source_of(repo), keys={a.id.key for a in apps}
                ):
                    if fmt == "table":
                        _print_retired(done)
                    if not done.ok:
                        reason = f"{done.app}: removing the app failed; see above"
                        runs.append(AppRun(done.app, SyncOutcome.FAILED, reason, ExitCode.CLUSTER))

    if prune_apps and app is not None:
        raise ConfigError("--prune-apps: only when syncing every app (no APP argument)")
    run(go())
    if fmt != "table":
        output.emit(views if app is None else views[0], fmt)
    elif app is None:
        click.echo("")
        output.table(
            ["APP", "RESULT", "REASON"],
            [[r.app, r.outcome.value, r.reason or "-"] for r in runs],
        )
    sys.exit(worst(runs))


def _print_retired(done: Any) -> None:
    for ref in done.pruned:
        click.echo(f"  {output.colour('pruned')} {ref}")
    for ref, why in done.kept:
        click.echo(f"  kept {ref}: {why}")
    for ref, why in done.failed:
        click.echo(f"  {output.colour('failed')} {ref}: {why}")
    if done.orphaned:
        click.echo(
            f"{done.app}: removed from gitward.yaml; prune was off, so its "
            f"{len(done.orphaned)} object(s) stay in the cluster, no longer managed"
        )
    else:
        click.echo(f"{done.app}: removed from gitward.yaml; {len(done.pruned)} object(s) pruned")


def _print_sync(result: Any, elapsed: float) -> None:
    from gitward.apply.changes import Outcome

    changes = result.changes
    if result.plan.errors:
        return  # nothing was applied; the error line says why
    if result.plan.rebuilt:
        click.echo(
            f"  inventory rebuilt from tracking annotations: {result.plan.rebuilt} object(s) "
            "in the cluster name this app"
        )
    if changes is None:
        for o in result.plan.changes:
            click.echo(f"  {output.colour(o.action.value)} {o.ref}")
            output.diff(o.diff)
        click.echo(f"{result.app}: dry run, {len(result.plan.changes)} change(s) planned")
        return
    for c in changes.changes:
        if c.outcome is not Outcome.UNCHANGED:
            click.echo(f"  {output.colour(c.outcome.value)} {c.ref} {c.message}".rstrip())
    summary = changes.summary()
    rev = result.revision.sha[:12] or "working tree"
    health = f", {output.colour(result.health.status.value)}" if result.health else ""
    verb = "synced" if result.succeeded else output.colour(result.outcome.value)
    click.echo(
        f"{result.app}: {verb} {rev} ({summary or 'nothing to do'}){health} in {elapsed:.1f}s"
    )


@cli.command()
@click.argument("app", required=False)
@repo_option
@revision_option
@output_option
@tenancy_options
@errors_to_exit
def status(
    app: str | None,
    repo: str,
    revision: str | None,
    fmt: str,
    default_service_account: str | None,
    policy_file: str | None,
) -> None:
    """Sync state and health, per app and per object. Exit 1 unless all Synced and Healthy."""
    from gitward.cli.views import status_view
    from gitward.cli.workspace import connect, open_workspace, render_app_in
    from gitward.config.tenancy import load_tenancy
    from gitward.status import app_status
    from gitward.tenancy import client_for

    tenancy = load_tenancy(default_service_account=default_service_account, policy_file=policy_file)
    ws = open_workspace(repo=repo, revision=revision)
    apps = ws.chosen(app)

    async def go() -> list[dict[str, Any]]:
        async with connect() as kube:
            return [
                status_view(
                    await app_status(
                        kube=kube,
                        app=spec,
                        manifests=render_app_in(ws, spec).manifests,
                        revision=ws.revision,
                        as_app=client_for(kube=kube, app=spec, tenancy=tenancy),
                        policy=tenancy.policy,
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
            ["APP", "SYNC", "HEALTH", "REVISION", "OBJECTS", "REASON"],
            [
                [
                    v["app"],
                    v["sync"],
                    v["health"] or "-",
                    (v["revision"] or "")[:12],
                    str(len(v["objects"])),
                    v["reason"] or "-",
                ]
                for v in views
            ],
        )
        for v in views:
            click.echo("")
            if v["inventoryRebuilt"]:
                click.echo(
                    f"{v['app']}: no inventory; rebuilt from tracking annotations "
                    f"({v['inventoryRebuilt']} object(s) name this app)"
                )
            if not v["objects"]:
                continue
            click.echo(f"{v['app']}:")
            output.table(
                ["OBJECT", "SYNC", "HEALTH", "REASON"],
                [[o["object"], o["sync"], o["health"], o["reason"] or "-"] for o in v["objects"]],
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
        ["STARTED", "REVISION", "RESULT", "EXIT", "CHARTS", "CHANGES", "AUTHOR", "SUBJECT"],
        [
            [
                r.started_at,
                r.revision[:12],
                r.result.value,
                str(r.exit_code),
                ", ".join(r.charts) or "-",
                ", ".join(f"{n} {k}" for k, n in sorted(r.counts.items()) if k != "unchanged")
                or "-",
                r.author,
                r.subject,
            ]
            for r in records
        ],
    )
    for r in records:
        if r.message:
            click.echo(f"{r.started_at} {r.result.value}: {r.message}")


@cli.command()
@click.option("--repo", envvar="GITWARD_REPO", required=True, help="Config repository URL.")
@click.option("--revision", envvar="GITWARD_REVISION", default="main", show_default=True)
@click.option("--poll-interval", type=float, default=60.0, show_default=True, help="Seconds.")
@click.option(
    "--full-reconcile-interval",
    type=click.FloatRange(min=1.0),
    default=600.0,
    show_default=True,
    help="Seconds between re-rendering and re-planning every app, changed in git or not "
    "(jittered by ±10%).",
)
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
@click.option(
    "--api-token-file",
    default=None,
    help="File holding the API's bearer token (else env GITWARD_API_TOKEN). "
    "Required when --listen is not a loopback address.",
)
@tenancy_options
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per sync, drift, correction and error; json: one object per line.",
)
@errors_to_exit
def controller(
    repo: str,
    revision: str,
    poll_interval: float,
    full_reconcile_interval: float,
    listen: str,
    leader_election: bool,
    lease_name: str,
    lease_seconds: float,
    api_token_file: str | None,
    default_service_account: str | None,
    policy_file: str | None,
    log_format: str,
) -> None:
    """Reconcile every app continuously; put hand edits back (selfHeal).

    Webhook secret: env GITWARD_WEBHOOK_SECRET. API token: env GITWARD_API_TOKEN or
    --api-token-file. Records namespace: GITWARD_NAMESPACE.
    """
    import logging
    import os

    from gitward.api.auth import is_loopback
    from gitward.cli.logs import JsonLogFormatter
    from gitward.cli.workspace import connect
    from gitward.config.tenancy import load_tenancy
    from gitward.errors import ConfigError
    from gitward.heal.controller import ControllerOptions
    from gitward.heal.leader import LeaseConfig
    from gitward.heal.runner import RunOptions
    from gitward.heal.runner import run as run_controller
    from gitward.record.store import record_namespace

    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLogFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(name)s %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # One line per HTTP request would be most of the log and a good share of the CPU.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--listen {listen!r}: expected HOST:PORT")
    token = _api_token(api_token_file)
    if not token and not is_loopback(host):
        raise ConfigError(
            f"--listen {listen}: not a loopback address, so the API needs a token; "
            "set $GITWARD_API_TOKEN or --api-token-file"
        )
    options = RunOptions(
        controller=ControllerOptions(
            repo=repo,
            revision=revision,
            poll_interval=poll_interval,
            full_reconcile_interval=full_reconcile_interval,
            tenancy=load_tenancy(
                default_service_account=default_service_account, policy_file=policy_file
            ),
        ),
        host=host.strip("[]"),
        port=int(port),
        leader_election=leader_election,
        lease=LeaseConfig(
            name=lease_name,
            namespace=record_namespace(),
            lease_seconds=lease_seconds,
            renew_every=max(lease_seconds / 3, 0.5),
        ),
        webhook_secret=os.environ.get("GITWARD_WEBHOOK_SECRET", ""),
        api_token=token,
    )

    async def go() -> None:
        async with connect() as kube:
            await run_controller(options, kube=kube)

    run(go())


def _api_token(path: str | None) -> str:
    """The API token from ``path`` if given, else ``$GITWARD_API_TOKEN``; ``""`` if neither."""
    import os

    from gitward.errors import ConfigError

    if path is None:
        return os.environ.get("GITWARD_API_TOKEN", "").strip()
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--api-token-file {path}: cannot read it: {e}") from e
    if not token:
        raise ConfigError(f"--api-token-file {path}: the file is empty")
    return token


def main() -> None:
    cli(prog_name="gitward")


__all__ = ["cli", "main"]
