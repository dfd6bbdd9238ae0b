"""Which forge API to speak, from a kind, a URL, a repository and a token."""

from __future__ import annotations

import httpx

from gitward.errors import ConfigError
from gitward.forge.gitea import GiteaForge
from gitward.forge.github import GitHubForge
from gitward.forge.gitlab import GitLabForge
from gitward.forge.protocol import Forge

KINDS = ("gitea", "forgejo", "github", "gitlab")


def open_forge(
    *,
    kind: str,
    url: str,
    repo: str,
    token: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Forge:
    """A client for ``repo`` on the forge at ``url`` (its web root; GitHub: its API root)."""
    if not url:
        raise ConfigError("forge: no URL (--forge-url or GITWARD_FORGE_URL)")
    if not token:
        raise ConfigError(f"forge {url}: no token")
    if not repo or "/" not in repo.strip("/"):
        raise ConfigError(f"forge {url}: repository {repo!r} is not owner/name")
    if kind in ("gitea", "forgejo"):
        return GiteaForge(url=url, repo=repo, token=token, transport=transport, kind=kind)
    if kind == "github":
        return GitHubForge(url=url, repo=repo, token=token, transport=transport)
    if kind == "gitlab":
        return GitLabForge(url=url, repo=repo, token=token, transport=transport)
    raise ConfigError(f"forge: unknown kind {kind!r}; one of {', '.join(KINDS)}")
