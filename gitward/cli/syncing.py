"""``gitward sync``: make the cluster match git, for one app or every app in order."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any

import click

from gitward.cli import output
from gitward.cli.exits import errors_to_exit, is_verbose, run
from gitward.cli.options import (
    DecryptionArgs,
    TenancyArgs,
    decryption_options,
    force_conflicts_option,
    output_option,
    repo_option,
    revision_option,
    tenancy_options,
    verify_options,
)
from gitward.errors import ExitCode, GitwardError


@click.command()
@click.argument("app", required=False)
@repo_option
@revision_option
@output_option
@click.option("--dry-run", is_flag=True, help="Plan and validate only; write nothing.")
@click.option("--wait", is_flag=True, help="Wait until every object is healthy.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds for --wait.")
@force_conflicts_option
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
@verify_options
@decryption_options
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
    tenancy_args: TenancyArgs,
    verify_mode: str | None,
    trusted_keys: str | None,
    trusted_keys_secret: str | None,
    decryption_args: DecryptionArgs,
) -> None:
    """Make the cluster match git for APP, or for every app in dependsOn order.

    Without APP, an app that fails does not stop the others; the apps that depend
    on it are skipped. A summary table ends the run, which exits with the worst code.
    """
    from gitward.cli.workspace import connect, open_workspace, render_app_in
    from gitward.config.verify import load_verification
    from gitward.errors import ConfigError, RenderError
    from gitward.reconcile import SyncOptions, exit_code_of, record_unrendered, sync_app
    from gitward.reconcile.keys import decryptor_for
    from gitward.reconcile.verifying import verify_deployable
    from gitward.record.history import SyncOutcome
    from gitward.retire import retire_removed
    from gitward.runs import AppRun, blocker, skipped, worst
    from gitward.source.opening import source_of
    from gitward.tenancy import client_for, service_account_for
    from gitward.views import run_view, sync_view

    tenancy = tenancy_args.load()
    verification = load_verification(
        mode=verify_mode, trusted_keys=trusted_keys, trusted_keys_secret=trusted_keys_secret
    )
    decryption = decryption_args.load()
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
            # Before anything renders: a refused commit reaches neither a key nor the cluster.
            verified = await verify_deployable(
                kube,
                commits=ws.commits,
                sha=ws.revision.sha,
                apps=apps,
                operator=verification,
                repo_mode=ws.config.verify,
                repo_line=ws.config.verify_line,
            )
            if verified is not None and fmt == "table":
                _print_verified(verified)
            decryptor = await decryptor_for(kube, decryption)
            unsuccessful: dict[str, SyncOutcome] = {}
            for spec in apps:
                also: list[str] = []  # the errors after the first, for -v
                blocked_by = blocker(spec, unsuccessful)
                if blocked_by is not None:
                    run_ = skipped(spec, blocked_by, unsuccessful[blocked_by])
                    views.append(run_view(run_))
                else:
                    started = time.monotonic()
                    try:
                        rendered = render_app_in(ws, spec, decryptor=decryptor)
                        with output.progress(f"{spec.name}: syncing", enabled=fmt == "table"):
                            result = await sync_app(
                                kube=kube,
                                app=spec,
                                manifests=rendered.manifests,
                                revision=ws.revision,
                                charts=tuple(c.label for c in rendered.charts),
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
                        also = [str(x) for x in result.plan.errors[1:]]
                        if fmt == "table":
                            _print_sync(result, time.monotonic() - started)
                if not run_.succeeded:
                    unsuccessful[spec.name] = run_.outcome
                    if run_.outcome is not SyncOutcome.SKIPPED:
                        click.echo(
                            click.style("error: ", fg="red", bold=True) + run_.reason, err=True
                        )
                        for more in also if is_verbose() else []:
                            click.echo(f"  also: {more}", err=True)
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


def _print_verified(verified: Any) -> None:
    signer = f" ({verified.signer})" if verified.signer else ""
    click.echo(
        f"verified {verified.sha[:12]}: signed by trusted key {verified.key}{signer} "
        f"(--verify {verified.mode.value}, {verified.checked} commit(s) checked)"
    )


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
