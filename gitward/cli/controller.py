"""``gitward controller``: continuous reconcile and self-heal."""

from __future__ import annotations

from typing import Any

import click

from gitward.cli.exits import errors_to_exit, run
from gitward.cli.options import (
    DecryptionArgs,
    TenancyArgs,
    decryption_options,
    forge_kind_option,
    forge_url_option,
    tenancy_options,
    verify_options,
)


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
    "--max-concurrent-syncs",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Apps synced at once (independent ones: an app waits for its dependsOn to be "
    "Synced and Healthy).",
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
@click.option(
    "--shards",
    type=click.IntRange(min=1, max=1024),
    default=1,
    show_default=True,
    help="Spread the apps over this many shards, one Lease each; every replica serves "
    "its fair share (1: active/standby leader election).",
)
@click.option(
    "--lease-name",
    default="gitward-controller",
    show_default=True,
    help="The Lease of leader election; sharded, the prefix of the shard and member Leases.",
)
@click.option("--lease-seconds", type=click.FloatRange(min=1.0), default=15.0, show_default=True)
@click.option(
    "--api-token-file",
    default=None,
    help="File holding the API's bearer token (else env GITWARD_API_TOKEN). "
    "Required when --listen is not a loopback address.",
)
@click.option(
    "--ui/--no-ui",
    default=True,
    show_default=True,
    help="Serve the web UI at /ui/ on the API's address.",
)
@click.option(
    "--ui-secure-cookie",
    is_flag=True,
    help="Mark the UI's session cookie Secure on plain HTTP too (TLS ends at a proxy).",
)
@click.option(
    "--ui-users-secret",
    envvar="GITWARD_UI_USERS_SECRET",
    default="",
    help="Secret in gitward's namespace with the UI's users: one key per user name, its "
    "value a password hash from `gitward ui hash-password`. Env: GITWARD_UI_USERS_SECRET.",
)
@click.option(
    "--rollback-token-file",
    default=None,
    help="File holding the promoter's forge token, with which the UI's rollback button "
    "pushes a branch and opens a pull request (else env GITWARD_FORGE_TOKEN_PROMOTER; "
    "without either, or without --forge-url, the button is off).",
)
@tenancy_options
@verify_options
@decryption_options
@forge_kind_option("The config repository's forge API, for previews and deploy statuses.")
@forge_url_option("; without it no preview or deploy status is sent")
@click.option("--forge-repo", default="", help="owner/name on the forge (default: from --repo).")
@click.option(
    "--forge-token-file",
    default=None,
    help="File holding the forge token for previews and deploy statuses, e.g. a mounted "
    "Secret (else env GITWARD_FORGE_TOKEN). It needs commit-status and comment rights only.",
)
@click.option(
    "--public-url",
    envvar="GITWARD_PUBLIC_URL",
    default="",
    help="Where people reach this API; deploy statuses link to the app there "
    "(default: http://LISTEN). Env: GITWARD_PUBLIC_URL.",
)
@click.option(
    "--notifications",
    "notifications_file",
    envvar="GITWARD_NOTIFICATIONS",
    default=None,
    metavar="FILE",
    help="Who hears about syncs, health, drift and refused commits (README: Notifications). "
    "Env: GITWARD_NOTIFICATIONS.",
)
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
    max_concurrent_syncs: int,
    listen: str,
    leader_election: bool,
    shards: int,
    lease_name: str,
    lease_seconds: float,
    api_token_file: str | None,
    ui: bool,
    ui_secure_cookie: bool,
    ui_users_secret: str,
    rollback_token_file: str | None,
    tenancy_args: TenancyArgs,
    verify_mode: str | None,
    trusted_keys: str | None,
    trusted_keys_secret: str | None,
    decryption_args: DecryptionArgs,
    forge_kind: str,
    forge_url: str,
    forge_repo: str,
    forge_token_file: str | None,
    public_url: str,
    notifications_file: str | None,
    log_format: str,
) -> None:
    """Reconcile every app continuously; put hand edits back (selfHeal).

    Webhook secret: env GITWARD_WEBHOOK_SECRET. API token: env GITWARD_API_TOKEN or
    --api-token-file. Records namespace: GITWARD_NAMESPACE. Forge token (previews,
    deploy statuses): env GITWARD_FORGE_TOKEN or --forge-token-file. The promoter's
    token (the UI's rollback pull requests): env GITWARD_FORGE_TOKEN_PROMOTER or
    --rollback-token-file.
    """
    import logging
    import os

    from gitward.api.auth import is_loopback
    from gitward.cli.logs import JsonLogFormatter
    from gitward.cli.workspace import connect
    from gitward.config.verify import load_verification
    from gitward.errors import ConfigError
    from gitward.heal.controller import ControllerOptions
    from gitward.heal.leases import LeaseConfig, default_identity
    from gitward.heal.rollbacks import RollbackSettings
    from gitward.heal.runner import RunOptions
    from gitward.heal.runner import run as run_controller
    from gitward.notify.checking import check_notifications, load_settings
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
    # uvicorn's start and stop lines repeat ours; its errors (a handler's traceback) stay.
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--listen {listen!r}: expected HOST:PORT")
    token = _token_from(api_token_file, "GITWARD_API_TOKEN", option="--api-token-file")
    if not token and not is_loopback(host):
        raise ConfigError(
            f"--listen {listen}: not a loopback address, so the API needs a token; "
            "set $GITWARD_API_TOKEN or --api-token-file"
        )
    if shards > 1 and not leader_election:
        raise ConfigError(f"--shards {shards}: sharding needs Leases; drop --no-leader-election")
    identity = default_identity()
    forge = _forge(forge_kind, forge_url, forge_repo, repo, token_file=forge_token_file)
    options = RunOptions(
        controller=ControllerOptions(
            repo=repo,
            revision=revision,
            poll_interval=poll_interval,
            full_reconcile_interval=full_reconcile_interval,
            max_concurrent_syncs=max_concurrent_syncs,
            tenancy=tenancy_args.load(),
            verification=load_verification(
                mode=verify_mode,
                trusted_keys=trusted_keys,
                trusted_keys_secret=trusted_keys_secret,
            ),
            decryption=decryption_args.load(),
            forge=forge,
            public_url=public_url or f"http://{listen}",
            notifications=load_settings(notifications_file, forge_url=forge_url),
        ),
        host=host.strip("[]"),
        port=int(port),
        leader_election=leader_election,
        shards=shards,
        lease=LeaseConfig(
            identity=identity,
            name=lease_name,
            namespace=record_namespace(),
            lease_seconds=lease_seconds,
            renew_every=max(lease_seconds / 3, 0.5),
            # How often a standby (or a shard elector) looks: a takeover waits this
            # long past the lease at most.
            retry_every=min(2.0, max(lease_seconds / 6, 0.25)),
        ),
        webhook_secret=os.environ.get("GITWARD_WEBHOOK_SECRET", ""),
        api_token=token,
        ui=ui,
        ui_secure_cookie=ui_secure_cookie,
        ui_users_secret=ui_users_secret,
        rollbacks=RollbackSettings(
            repo=repo,
            base=revision,
            forge=forge,
            token=_token_from(
                rollback_token_file,
                "GITWARD_FORGE_TOKEN_PROMOTER",
                option="--rollback-token-file",
            ),
            username=os.environ.get("GITWARD_FORGE_USERNAME", "gitward"),
            allow_insecure=os.environ.get("GITWARD_ALLOW_INSECURE", "").lower() in ("1", "true"),
        ),
    )

    async def go() -> None:
        # Each replica its own user agent, so the audit log tells who wrote what.
        async with connect(user_agent=f"gitward-controller/{identity}") as kube:
            await check_notifications(kube, options.controller.notifications)
            await run_controller(options, kube=kube)

    run(go())


def _forge(kind: str, url: str, repo: str, config_repo: str, *, token_file: str | None) -> Any:
    """The forge settings, or ``None`` without a forge URL."""
    from gitward.errors import ConfigError
    from gitward.forge import ForgeSettings, repo_of

    if not url:
        return None
    token = _token_from(token_file, "GITWARD_FORGE_TOKEN", option="--forge-token-file")
    if not token:
        raise ConfigError(
            f"--forge-url {url}: previews and deploy statuses need a token in "
            "$GITWARD_FORGE_TOKEN or --forge-token-file"
        )
    return ForgeSettings(
        kind=kind, url=url, repo=repo or repo_of(config_repo, forge_url=url), token=token
    )


def _token_from(path: str | None, env: str, *, option: str) -> str:
    """A token from file ``path`` if given, else from ``$env``; ``""`` if neither."""
    import os

    from gitward.errors import ConfigError

    if path is None:
        return os.environ.get(env, "").strip()
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{option} {path}: cannot read it: {e}") from e
    if not token:
        raise ConfigError(f"{option} {path}: the file is empty")
    return token
