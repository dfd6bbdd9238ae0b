"""``gitward status`` and ``gitward history``: what the cluster and its records say."""

from __future__ import annotations

import sys
from typing import Any

import click

from gitward.cli import output
from gitward.cli.exits import EXIT_DIFF, EXIT_OK, errors_to_exit, run
from gitward.cli.options import (
    DecryptionArgs,
    TenancyArgs,
    decryption_options,
    output_option,
    repo_option,
    revision_option,
    tenancy_options,
)


@click.command()
@click.argument("app", required=False)
@repo_option
@revision_option
@output_option
@tenancy_options
@decryption_options
@errors_to_exit
def status(
    app: str | None,
    repo: str,
    revision: str | None,
    fmt: str,
    tenancy_args: TenancyArgs,
    decryption_args: DecryptionArgs,
) -> None:
    """Sync state and health, per app and per object. Exit 1 unless all Synced and Healthy."""
    from gitward.cli.workspace import connect, open_workspace, render_app_in
    from gitward.reconcile.keys import decryptor_for
    from gitward.status import app_status
    from gitward.tenancy import client_for
    from gitward.views import status_view

    tenancy = tenancy_args.load()
    decryption = decryption_args.load()
    ws = open_workspace(repo=repo, revision=revision)
    apps = ws.chosen(app)

    async def go() -> list[dict[str, Any]]:
        async with connect() as kube:
            decryptor = await decryptor_for(kube, decryption)
            out: list[dict[str, Any]] = []
            for spec in apps:
                rendered = render_app_in(ws, spec, decryptor=decryptor)
                status = await app_status(
                    kube=kube,
                    app=spec,
                    manifests=rendered.manifests,
                    revision=ws.revision,
                    as_app=client_for(kube=kube, app=spec, tenancy=tenancy),
                    policy=tenancy.policy,
                    charts=tuple(c.label for c in rendered.charts),
                )
                out.append(status_view(status))
            return out

    views = run(go())
    ok = all(v["sync"] == "Synced" and v["health"] == "Healthy" for v in views)
    if fmt != "table":
        output.emit(views if app is None else views[0], fmt)
    else:
        output.table(
            ["APP", "SYNC", "HEALTH", "REVISION", "OBJECTS", "REASON"],
            [
                [
                    v["name"],
                    v["sync"],
                    v["health"] or "-",
                    (v["revision"] or "")[:12],
                    str(len(v["objects"])),
                    v["message"] or "-",
                ]
                for v in views
            ],
        )
        for v in views:
            click.echo("")
            if v["inventoryRebuilt"]:
                click.echo(
                    f"{v['name']}: no inventory; rebuilt from tracking annotations "
                    f"({v['inventoryRebuilt']} object(s) name this app)"
                )
            if v["charts"]:
                click.echo(f"{v['name']}: charts {', '.join(v['charts'])}")
            if not v["objects"]:
                continue
            click.echo(f"{v['name']}:")
            output.table(
                ["OBJECT", "SYNC", "HEALTH", "REASON"],
                [[o["object"], o["sync"], o["health"], o["reason"] or "-"] for o in v["objects"]],
            )
    sys.exit(EXIT_OK if ok else EXIT_DIFF)


@click.command()
@click.argument("app")
@output_option
@errors_to_exit
def history(app: str, fmt: str) -> None:
    """The last syncs of APP, newest first, as recorded in the cluster."""
    from gitward.cli.workspace import connect
    from gitward.record import apprecords
    from gitward.record.history import SyncRecord
    from gitward.views import history_view

    async def go() -> tuple[SyncRecord, ...]:
        async with connect() as kube:
            return (await apprecords.load(kube, app)).history

    records = run(go())
    if fmt != "table":
        output.emit([history_view(r) for r in records], fmt)
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
