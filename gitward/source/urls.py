"""Repository URLs: which forms gitward accepts, how they are shown, where they are cached.

git accepts far more than a GitOps tool should: ``ext::`` runs a command,
``fd::`` talks to a file descriptor. We accept the five forms people put in a
config (``https://``, ``ssh://``, ``git@host:path``, ``file://`` and a plain
local path) and refuse the rest before git sees them.

A URL may carry a password (``https://bot:secret@host/repo.git``). git still
gets it as given, but everything else -- messages and the cache key -- uses the
*display* form without it, so rotating a password keeps the cache and no
message ever prints it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gitward.errors import SourceError
from gitward.hosts import is_loopback

_ACCEPTED = "https://, ssh://, git@host:path, file:// or a local path"

# git reads ``<helper>::<address>`` as "run git-remote-<helper>", whatever follows.
_REMOTE_HELPER = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.-]*::")

# URL scheme -> the transport git will use for it.
_TRANSPORTS = {
    "file": "file",
    "http": "http",
    "https": "http",
    "ssh": "ssh",
    "git+ssh": "ssh",
    "ssh+git": "ssh",
    "git": "git",
}


@dataclass(frozen=True)
class RepoUrl:
    """A repository location, parsed once.

    ``for_git`` is what git is told, ``display`` is what people are shown, and
    ``transport`` is ``file``, ``http``, ``ssh`` or ``git``: it decides which
    credentials apply.
    """

    for_git: str
    display: str
    transport: str
    password: str | None = None
    scheme: str = ""
    host: str = ""

    @property
    def cleartext(self) -> bool:
        """Whether git talks to the host unencrypted (``http://``, ``git://``)."""
        return self.scheme in ("http", "git")

    @property
    def loopback(self) -> bool:
        """Whether the host is this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
        return is_loopback(self.host)

    @property
    def key(self) -> str:
        """A short, stable directory name for this repository's cache."""
        return hashlib.sha256(self.display.encode()).hexdigest()[:20]


def parse_url(url: str) -> RepoUrl:
    """Parse ``url``; a form gitward does not accept raises :class:`SourceError`."""
    if not url.strip():
        raise SourceError("git source: the repository URL is empty")
    if _REMOTE_HELPER.match(url):
        raise SourceError(f"{url}: unsupported repository URL; use {_ACCEPTED}")
    if "://" in url:
        return _parse_scheme_url(url)
    if _is_scp_like(url):
        return RepoUrl(for_git=url, display=url, transport="ssh")
    # A plain path: made absolute now so that a later chdir cannot change
    # which repository (and which cache) this is.
    path = str(Path(url).expanduser().resolve())
    return RepoUrl(for_git=path, display=path, transport="file")


def _parse_scheme_url(url: str) -> RepoUrl:
    scheme = url.partition("://")[0].lower()
    transport = _TRANSPORTS.get(scheme)
    if transport is None:
        raise SourceError(f"{url}: unsupported repository URL; use {_ACCEPTED}")
    parts = urlsplit(url)
    try:
        host = parts.hostname or ""
    except ValueError:
        host = ""
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not (at and colon):
        return RepoUrl(for_git=url, display=url, transport=transport, scheme=scheme, host=host)
    display = parts._replace(netloc=f"{user}@{hostport}").geturl()
    return RepoUrl(
        for_git=url,
        display=display,
        transport=transport,
        password=password or None,
        scheme=scheme,
        host=host,
    )


def _is_scp_like(url: str) -> bool:
    """git's own rule: ``host:path`` is ssh when the colon comes before any slash."""
    colon = url.find(":")
    slash = url.find("/")
    return colon > 0 and (slash == -1 or colon < slash)


def source_identity(url: str) -> str:
    """The repository as an app's identity names it: the same for every spelling
    of one repository, and never holding credentials.

    ``/srv/config``, ``file:///srv/config/`` and ``./config`` run from ``/srv``
    are one source; so are ``https://bot:pw@Git.example.com/org/config.git``
    and ``https://git.example.com/org/config``.
    """
    parsed = parse_url(url)
    if parsed.transport == "file":
        path = parsed.for_git.removeprefix("file://") if "://" in parsed.for_git else parsed.for_git
        return "file://" + str(Path(path).resolve())
    if "://" not in parsed.for_git:  # git@host:org/repo
        host, _, path = parsed.for_git.partition(":")
        scheme, hostport, path = "ssh", host.rpartition("@")[2], "/" + path.lstrip("/")
    else:
        parts = urlsplit(parsed.for_git)
        scheme, hostport, path = parts.scheme, parts.netloc.rpartition("@")[2], parts.path
    path = path.rstrip("/").removesuffix(".git")
    return f"{scheme.lower()}://{hostport.lower()}{path}"


_FORGE = re.compile(r"^https://(?P<host>[^/@\s]+)/(?P<path>[^\s?#]+?)(?:\.git)?/?$")


def commit_url(repo_url: str, sha: str) -> str:
    """A link to ``sha`` on the forge that hosts ``repo_url``; empty when it is no forge."""
    match = _FORGE.match(repo_url)
    if not match or not re.fullmatch(r"[0-9a-f]{7,64}", sha):
        return ""
    host, path = match["host"], match["path"]
    if "gitlab" in host:
        return f"https://{host}/{path}/-/commit/{sha}"
    if "bitbucket" in host:
        return f"https://{host}/{path}/commits/{sha}"
    return f"https://{host}/{path}/commit/{sha}"
