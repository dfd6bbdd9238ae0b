"""Where a commit can be seen: on the config repository's forge, or the chart code's.

With the controller's ``--forge-url`` the link goes to that forge (it may be
served on plain HTTP, or under a path); otherwise a repository URL on a
known forge host is linked as that forge shows commits. Anything else (a
local path, an ssh URL) gets no link, and the commit's SHA says enough.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from gitward.forge import ForgeSettings
from gitward.notify.events import ChartLink
from gitward.render.results import ChartDependency
from gitward.source.urls import commit_url


def revision_url(*, repo: str, sha: str, forge: ForgeSettings | None) -> str:
    """A link to ``sha`` of the config repository ``repo``; "" when there is none to give."""
    if forge is None or not sha:
        return commit_url(_without_credentials(repo), sha)
    root = forge.url.rstrip("/")
    if forge.kind == "github":
        # GitHub's setting is its API root: api.github.com, or /api/v3 on Enterprise.
        host = urlsplit(root)
        web = "https://github.com" if host.hostname == "api.github.com" else root
        return f"{web.removesuffix('/api/v3')}/{forge.repo}/commit/{sha}"
    if forge.kind == "gitlab":
        return f"{root}/{forge.repo}/-/commit/{sha}"
    return f"{root}/{forge.repo}/commit/{sha}"


def chart_links(charts: Iterable[ChartDependency]) -> tuple[ChartLink, ...]:
    """The charts a revision renders, each linked to the code commit it was built from."""
    return tuple(
        ChartLink(
            name=c.name,
            version=c.version,
            commit=c.commit,
            commit_url=commit_url(_without_credentials(c.source), c.commit) if c.commit else "",
        )
        for c in charts
    )


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "://" not in url or (not parts.username and not parts.password):
        return url
    host = parts.hostname or ""
    return parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host).geturl()
