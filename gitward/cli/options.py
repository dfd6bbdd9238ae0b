"""Options several commands share."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any

import click
from click.decorators import FC

from gitward.cli import output
from gitward.cli.exits import P, R

if TYPE_CHECKING:  # the CLI starts fast: the engine is imported when a command runs
    from gitward.config.decryption import DecryptionSettings
    from gitward.config.tenancy import Tenancy

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
force_conflicts_option = click.option(
    "--force-conflicts/--no-force-conflicts",
    default=True,
    show_default=True,
    help="Take back fields git sets from other writers (a hand edit, say); "
    "--no-force-conflicts refuses instead.",
)

FORGE_KINDS = click.Choice(["gitea", "forgejo", "github", "gitlab"])


def forge_kind_option(what: str) -> Callable[[FC], FC]:
    """``--forge``: which forge API ``what`` (a sentence) is."""
    return click.option(
        "--forge",
        "forge_kind",
        envvar="GITWARD_FORGE",
        type=FORGE_KINDS,
        default="gitea",
        show_default=True,
        help=f"{what} Env: GITWARD_FORGE.",
    )


def forge_url_option(when: str) -> Callable[[FC], FC]:
    """``--forge-url``: the forge's web root; ``when`` says what it is needed for."""
    return click.option(
        "--forge-url",
        envvar="GITWARD_FORGE_URL",
        default="",
        help=f"The forge's web root (GitHub: its API root){when}. Env: GITWARD_FORGE_URL.",
    )


@dataclass(frozen=True)
class TenancyArgs:
    """``--default-service-account`` and ``--policy`` as given."""

    default_service_account: str | None
    policy_file: str | None

    def load(self) -> Tenancy:
        from gitward.config.tenancy import load_tenancy

        return load_tenancy(
            default_service_account=self.default_service_account, policy_file=self.policy_file
        )


@dataclass(frozen=True)
class DecryptionArgs:
    """``--sops-age-key-file`` and ``--sops-secret`` as given."""

    sops_age_key_file: str | None
    sops_secret: str | None

    def load(self) -> DecryptionSettings:
        from gitward.config.decryption import load_decryption

        return load_decryption(key_file=self.sops_age_key_file, secret=self.sops_secret)


def _bundled(fn: Callable[..., R], name: str, bundle: type[Any]) -> Callable[..., R]:
    """``fn`` taking the options that are ``bundle``'s fields as one argument, ``name``."""
    fields = [f.name for f in dataclasses.fields(bundle)]

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        given = bundle(**{f: kwargs.pop(f) for f in fields})
        return fn(*args, **{name: given}, **kwargs)

    return wrapper


def tenancy_options(fn: Callable[..., R]) -> Callable[..., R]:
    """``--default-service-account`` and ``--policy``: the operator's bounds on every app,
    given to the command as one ``tenancy_args``."""
    fn = _bundled(fn, "tenancy_args", TenancyArgs)
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


def verify_options(fn: Callable[P, R]) -> Callable[P, R]:
    """``--verify`` and ``--trusted-keys[-secret]``: which commits may deploy (operator policy)."""
    fn = click.option(
        "--trusted-keys-secret",
        envvar="GITWARD_TRUSTED_KEYS_SECRET",
        default=None,
        metavar="NAME",
        help="A Secret in gitward's namespace holding the trusted keys, as the directory "
        "would (allowed_signers, *.asc entries). Env: GITWARD_TRUSTED_KEYS_SECRET.",
    )(fn)
    fn = click.option(
        "--trusted-keys",
        envvar="GITWARD_TRUSTED_KEYS",
        default=None,
        metavar="DIR",
        help="Directory of trusted keys: an SSH allowed_signers file and/or OpenPGP *.asc "
        "public keys. Env: GITWARD_TRUSTED_KEYS.",
    )(fn)
    return click.option(
        "--verify",
        "verify_mode",
        envvar="GITWARD_VERIFY",
        default=None,
        metavar="none|head|strict",
        help="Deploy only commits signed by a trusted key: the commit itself (head), or "
        "every commit since the last deployed one (strict). Default none. Env: GITWARD_VERIFY.",
    )(fn)


def decryption_options(fn: Callable[..., R]) -> Callable[..., R]:
    """``--sops-age-key-file`` and ``--sops-secret``: the key to SOPS-encrypted files,
    given to the command as one ``decryption_args``."""
    fn = _bundled(fn, "decryption_args", DecryptionArgs)
    fn = click.option(
        "--sops-secret",
        envvar="GITWARD_SOPS_SECRET",
        default=None,
        metavar="NAME",
        help="A Secret in gitward's namespace whose *.agekey entries hold age identities. "
        "Env: GITWARD_SOPS_SECRET.",
    )(fn)
    return click.option(
        "--sops-age-key-file",
        envvar="GITWARD_SOPS_AGE_KEY_FILE",
        default=None,
        metavar="FILE",
        help="An age identity file that decrypts the repository's SOPS-encrypted files. "
        "Env: GITWARD_SOPS_AGE_KEY_FILE.",
    )(fn)
