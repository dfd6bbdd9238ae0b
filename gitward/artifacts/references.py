"""Image and chart references: ``host[:port]/path/name:tag@sha256:…`` and ``oci://host/path``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitward.errors import ConfigError
from gitward.hosts import is_loopback

# The distribution spec's grammar for a repository path and a tag.
_PATH = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Repository:
    """A repository in an OCI registry: ``host`` (``name[:port]``) and ``path``."""

    host: str
    path: str

    def __str__(self) -> str:
        return f"{self.host}/{self.path}"

    @property
    def base_url(self) -> str:
        """Plain http only for this machine, as container tools treat ``localhost``."""
        hostname = self.host.rsplit(":", 1)[0] if not self.host.endswith("]") else self.host
        scheme = "http" if is_loopback(hostname) else "https"
        return f"{scheme}://{self.host}"

    def tagged(self, tag: str) -> str:
        return f"{self}:{tag}"

    def pinned(self, tag: str, digest: str) -> str:
        return f"{self}:{tag}@{digest}"

    def child(self, name: str) -> Repository:
        return Repository(self.host, f"{self.path}/{name}" if self.path else name)


def parse_location(text: str, *, subject: str) -> Repository:
    """``host[:port][/path]`` (an ``oci://`` prefix allowed) as a registry location.

    The path may be empty (the registry's root) or a namespace charts and
    images go under.
    """
    raw = text.removeprefix("oci://").strip("/")
    host, _, path = raw.partition("/")
    if not host or ("." not in host and ":" not in host and host != "localhost"):
        raise ConfigError(f"{subject}: {text!r} does not start with a registry host (name:port)")
    if path and not _PATH.match(path):
        raise ConfigError(f"{subject}: {path!r} is not a valid repository path (lower case, /)")
    return Repository(host=host, path=path)


def check_tag(tag: str, *, subject: str) -> str:
    if not TAG.match(tag):
        raise ConfigError(f"{subject}: {tag!r} is not a valid OCI tag")
    return tag
