"""Push credentials for a store, from the environment or a docker-style ``config.json``.

The build side needs write access to its stores and nothing else. Credentials
are looked up in this order, for the store's host:

1. ``GITWARD_<KIND>_USERNAME`` and ``GITWARD_<KIND>_PASSWORD`` (``KIND`` is
   ``REGISTRY`` for images and OCI charts, ``CHART_REPO`` for the
   ChartMuseum-API repository);
2. ``GITWARD_BUILD_USER`` and ``GITWARD_BUILD_TOKEN``: the build identity
   for every store (what ``gitward dev env`` prints for the dev forge);
3. the ``auths`` entry for the host in ``$REGISTRY_AUTH_FILE``, then
   ``$DOCKER_CONFIG/config.json``, then ``~/.docker/config.json`` (``auth``
   as base64 ``user:password``, or ``username``/``password``).

A :class:`Credentials` never shows its password in ``repr``; messages name
the store and where the credentials came from, never their value.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from gitward.artifacts.errors import StoreError
from gitward.errors import ConfigError

REGISTRY = "REGISTRY"
CHART_REPO = "CHART_REPO"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    origin: str = ""  # where they came from, for messages: "GITWARD_REGISTRY_*", a file

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return base64.b64encode(raw).decode()


def auth_files() -> list[Path]:
    """The docker-style auth files consulted, most specific first."""
    out = []
    if env := os.environ.get("REGISTRY_AUTH_FILE"):
        out.append(Path(env))
    if env := os.environ.get("DOCKER_CONFIG"):
        out.append(Path(env) / "config.json")
    out.append(Path.home() / ".docker" / "config.json")
    return out


def lookup(kind: str, host: str) -> Credentials | None:
    """Credentials for ``host`` (``name[:port]``) of store ``kind``, or ``None``."""
    user = os.environ.get(f"GITWARD_{kind}_USERNAME", "")
    password = os.environ.get(f"GITWARD_{kind}_PASSWORD", "")
    if user or password:
        if not (user and password):
            raise ConfigError(
                f"GITWARD_{kind}_USERNAME and GITWARD_{kind}_PASSWORD: set both or neither"
            )
        return Credentials(username=user, password=password, origin=f"GITWARD_{kind}_*")
    return _identity_or_file("BUILD", host)


def read_lookup(host: str) -> Credentials | None:
    """Read credentials for ``host`` (helm resolving a chart), or ``None``.

    ``GITWARD_DEPLOY_USER``/``GITWARD_DEPLOY_TOKEN`` (the deploy identity, read
    access only), else the build identity (``gitward ci --promote`` locks the
    version it just published, on the build side, where that is the identity
    there is), else the host's entry in a docker-style ``config.json``.
    """
    for side in ("DEPLOY", "BUILD"):
        user = os.environ.get(f"GITWARD_{side}_USER", "")
        token = os.environ.get(f"GITWARD_{side}_TOKEN", "")
        if user and token:
            return Credentials(username=user, password=token, origin=f"GITWARD_{side}_*")
    return _identity_or_file("DEPLOY", host)


def _identity_or_file(side: str, host: str) -> Credentials | None:
    """``GITWARD_<side>_USER``/``GITWARD_<side>_TOKEN`` when both are set, else the
    host's entry in a docker-style ``config.json``."""
    user = os.environ.get(f"GITWARD_{side}_USER", "")
    token = os.environ.get(f"GITWARD_{side}_TOKEN", "")
    if user and token:
        return Credentials(username=user, password=token, origin=f"GITWARD_{side}_*")
    for path in auth_files():
        found = _from_file(path, host)
        if found is not None:
            return found
    return None


def secrets() -> tuple[str, ...]:
    """Every password gitward might send, to scrub from what programs print."""
    names = ("GITWARD_REGISTRY_PASSWORD", "GITWARD_CHART_REPO_PASSWORD", "GITWARD_BUILD_TOKEN")
    return tuple(v for name in names if (v := os.environ.get(name, "")))


def _from_file(path: Path, host: str) -> Credentials | None:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise StoreError(f"{path}: not a readable docker config.json: {type(e).__name__}") from e
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return None
    entry = None
    for key in (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/"):
        if isinstance(auths.get(key), dict):
            entry = auths[key]
            break
    if entry is None:
        return None
    if entry.get("username") and entry.get("password"):
        return Credentials(str(entry["username"]), str(entry["password"]), origin=str(path))
    try:
        user, _, password = base64.b64decode(str(entry.get("auth", ""))).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise StoreError(f"{path}: auths[{host}].auth is not base64 user:password") from e
    if not (user and password):
        return None
    return Credentials(user, password, origin=str(path))


def write_auth_file(path: Path, entries: dict[str, Credentials]) -> None:
    """A docker-style auth file (mode 0600) for a program that reads one (buildah, helm)."""
    doc = {"auths": {host: {"auth": c.basic()} for host, c in entries.items()}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
