"""Which forge API to speak, from a kind, a URL, a repository and a token."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from gitward.errors import ConfigError
from gitward.forge.gitea import GiteaForge
from gitward.forge.github import GitHubForge
from gitward.forge.gitlab import GitLabForge
from gitward.forge.protocol import Forge

KINDS = ("gitea", "forgejo", "github", "gitlab")


@dataclass(frozen=True)
class ForgeSettings:
    """Where a repository's forge is and the token to speak to it with."""

    kind: str
    url: str
    repo: str
    token: str = field(repr=False)

    def open(self, transport: httpx.AsyncBaseTransport | None = None) -> Forge:
        return open_forge(
            kind=self.kind, url=self.url, repo=self.repo, token=self.token, transport=transport
        )


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


def repo_of(clone_url: str, *, forge_url: str) -> str:
    """``owner/name`` of a repository from its clone URL (``https://host/owner/name.git``).

    A forge served under a path (``https://host/git/``) has that path taken off first;
    scp-like ssh URLs (``git@host:owner/name.git``) work too.
    """
    path = urlsplit(clone_url).path if "://" in clone_url else clone_url.partition(":")[2]
    prefix = urlsplit(forge_url).path.rstrip("/") if "://" in forge_url else ""
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    path = path.strip("/").removesuffix(".git")
    if "/" not in path:
        raise ConfigError(f"{clone_url}: cannot tell the repository's owner/name from it")
    return path


def forge_of(clone_url: str, *, kind: str = "", url: str = "") -> tuple[str, str]:
    """``(kind, web root)`` of the forge a repository lives on: as given, else from its
    clone URL (github.com and gitlab.com by name, any other host taken for a Gitea at
    the URL's root; a forge served under a path needs ``url`` given)."""
    if "://" in clone_url:
        parts = urlsplit(clone_url)
        scheme, host = parts.scheme, parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        if scheme not in ("http", "https"):
            scheme, port = "https", ""
    else:  # scp-like: git@host:owner/name.git
        scheme, port = "https", ""
        before, colon, _ = clone_url.partition(":")
        host = before.rpartition("@")[2] if colon and "/" not in before else ""
    if not host:
        raise ConfigError(f"{clone_url}: cannot tell the forge from it; set its URL")
    derived = {"github.com": "github", "gitlab.com": "gitlab"}.get(host, "gitea")
    kind = kind or derived
    if not url:
        url = "https://api.github.com" if host == "github.com" else f"{scheme}://{host}{port}"
    return kind, url
