"""``gitward controller``: continuous reconcile and self-heal."""

from __future__ import annotations

import click

from gitward.cli.exits import errors_to_exit, run
from gitward.cli.options import tenancy_options


@click.command()
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
    from gitward.heal.leases import LeaseConfig
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
