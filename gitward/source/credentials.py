"""How credentials reach git without landing on disk, in argv or in a message.

A token is sent as an ``Authorization`` header through ``http.extraHeader``,
passed in git's ``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` environment rather
than ``-c`` (argv is world-readable in ``ps``) or a URL (git stores remote URLs
in the repository config and prints them in errors). An ssh key is named in
``GIT_SSH_COMMAND`` with batch mode on, so ssh fails instead of asking.

Every secret is also listed in :attr:`Access.secrets` so that the runner can
scrub it out of anything git prints.

Credentials never travel in cleartext: a token (or a password in the URL)
for an ``http://`` or ``git://`` URL is refused unless the host is loopback
or the user allowed it (``--insecure-skip-tls``, ``GITWARD_ALLOW_INSECURE=1``),
and while a token goes to an ``https://`` URL git may not follow a redirect
or rewrite to plain ``http``.
"""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from gitward.errors import SourceError
from gitward.source.urls import RepoUrl


@dataclass(frozen=True)
class GitCredentials:
    """What to authenticate with.

    ``token`` is used for ``http(s)://`` URLs, with ``username`` as the basic
    auth user (GitHub accepts any; GitLab wants ``oauth2`` for OAuth tokens).
    ``ssh_key`` is used for ``ssh://`` and ``git@host:path`` URLs.
    ``allow_insecure`` lets a token or password go over ``http://``/``git://``
    to a host that is not loopback.
    """

    token: str | None = field(default=None, repr=False)
    ssh_key: Path | None = None
    username: str = "git"
    allow_insecure: bool = False


@dataclass(frozen=True)
class Access:
    """What git needs for one repository: secret config, environment, and what to scrub."""

    config: dict[str, str] = field(default_factory=dict, repr=False)
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = field(default=(), repr=False)


def access_for(credentials: GitCredentials, url: RepoUrl) -> Access:
    """The config and environment that authenticate git to ``url`` with ``credentials``.

    Raises :class:`SourceError` rather than send a credential in cleartext.
    """
    config: dict[str, str] = {}
    env: dict[str, str] = {}
    secrets = [url.password] if url.password else []
    has_secret = bool(url.password) or (
        bool(credentials.token) and url.transport in ("http", "git")
    )
    if has_secret and url.cleartext and not url.loopback and not credentials.allow_insecure:
        raise SourceError(
            f"{url.display}: refusing to send git credentials over cleartext {url.scheme}://; "
            "use https:// or ssh://, or allow it with --insecure-skip-tls "
            "(GITWARD_ALLOW_INSECURE=1)"
        )
    if url.scheme == "https" and credentials.token and not credentials.allow_insecure:
        # No redirect or insteadOf rewrite may carry the header to plain http.
        env["GIT_ALLOW_PROTOCOL"] = "file:https:ssh"
    if url.transport == "http" and credentials.token:
        basic = base64.b64encode(f"{credentials.username}:{credentials.token}".encode()).decode()
        config["http.extraHeader"] = f"Authorization: Basic {basic}"
        secrets += [credentials.token, basic]
    if url.transport == "ssh" and credentials.ssh_key is not None:
        env["GIT_SSH_COMMAND"] = ssh_command(credentials.ssh_key)
    return Access(config=config, env=env, secrets=tuple(secrets))


def ssh_command(key: Path) -> str:
    """The ``GIT_SSH_COMMAND`` that uses ``key`` only and never prompts."""
    return shlex.join(
        [
            "ssh",
            "-i",
            str(key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            "BatchMode=yes",
        ]
    )
