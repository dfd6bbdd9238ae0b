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

import sys
from typing import Any

import click

from gitward.cli import output
from gitward.cli.exits import (
    EXIT_DIFF,
    EXIT_OK,
    errors_to_exit,
    run,
)
from gitward.cli.options import (
    DecryptionArgs,
    TenancyArgs,
    decryption_options,
    force_conflicts_option,
    output_option,
    repo_option,
    revision_option,
    tenancy_options,
)

# The commands that live in modules of their own, imported only when run (or
# listed by --help): `gitward ci` is a short process on the build side, and
# importing every other command's module would be a noticeable part of it.
_LAZY = {
    "ci": "gitward.cli.ci:ci",
    "controller": "gitward.cli.controller:controller",
    "dev": "gitward.cli.dev:dev",
    "history": "gitward.cli.reports:history",
    "promote": "gitward.cli.promoting:promote",
    "rollback": "gitward.cli.promoting:rollback",
    "status": "gitward.cli.reports:status",
    "sync": "gitward.cli.syncing:sync",
    "ui": "gitward.cli.ui:ui",
}


class _Commands(click.Group):
    """The group whose commands in :data:`_LAZY` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in _LAZY:
            return found
        import importlib

        module, _, attr = _LAZY[cmd_name].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        self.add_command(command, cmd_name)
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
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
@force_conflicts_option
@tenancy_options
@decryption_options
@errors_to_exit
def diff(
    app: str,
    repo: str,
    revision: str | None,
    fmt: str,
    force_conflicts: bool,
    tenancy_args: TenancyArgs,
    decryption_args: DecryptionArgs,
) -> None:
    """Show what a sync of APP would change. Exit 1 when anything would."""
    from gitward.cli.workspace import connect, open_workspace, render_app_in
    from gitward.reconcile import PlanInvalid, SyncOptions, plan_app
    from gitward.reconcile.keys import decryptor_for
    from gitward.tenancy import client_for
    from gitward.views import plan_view

    tenancy = tenancy_args.load()
    decryption = decryption_args.load()
    ws = open_workspace(repo=repo, revision=revision)
    (spec,) = ws.chosen(app)

    async def go() -> Any:
        async with connect() as kube:
            rendered = render_app_in(ws, spec, decryptor=await decryptor_for(kube, decryption))
            return await plan_app(
                kube=kube,
                app=spec,
                manifests=rendered.manifests,
                options=SyncOptions(force_conflicts=force_conflicts, policy=tenancy.policy),
                as_app=client_for(kube=kube, app=spec, tenancy=tenancy),
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


def main() -> None:
    cli(prog_name="gitward")


__all__ = ["cli", "main"]
