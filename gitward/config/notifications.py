"""The ``notifications:`` settings: which receivers hear about which events of which apps.

They are the operator's, like the verification policy: read from the file
named by ``gitward controller --notifications`` (``$GITWARD_NOTIFICATIONS``),
never from the config repository. Whoever can push to the repository must
not be able to send the controller's events (and payloads signed with the
operator's secret) to a receiver of their choosing, nor silence the alarm
about a commit that was refused.

The file is checked like ``gitward.yaml``: strict YAML, a JSON Schema, and
every error names the file and the line (an unknown provider, a webhook URL
without a scheme, a secret file that is not there). A Secret reference is
checked against the cluster when the controller starts
(:mod:`gitward.notify.secrets`), naming the Secret and the line.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from gitward.config.validating import check_schema, line_of
from gitward.config.verify import SECRET_NAME
from gitward.errors import ConfigError
from gitward.yamlload import load_single


class ProviderKind(StrEnum):
    WEBHOOK = "webhook"  # JSON, signed with HMAC-SHA256
    SLACK = "slack"  # a Slack-compatible incoming webhook (text and blocks)
    FORGE = "forge"  # a commit status on the config repository's forge


class EventKind(StrEnum):
    SYNC_SUCCEEDED = "sync-succeeded"
    SYNC_FAILED = "sync-failed"
    HEALTH_DEGRADED = "health-degraded"
    HEALTH_RECOVERED = "health-recovered"
    DRIFT_DETECTED = "drift-detected"
    DRIFT_CORRECTED = "drift-corrected"
    FIGHTING = "fighting"  # another field manager keeps undoing a correction
    COMMIT_REFUSED = "commit-refused"  # commit verification refused the branch head


@dataclass(frozen=True)
class SecretRef:
    """An entry of a Secret in gitward's namespace."""

    name: str
    key: str


@dataclass(frozen=True)
class Provider:
    name: str
    kind: ProviderKind
    url: str = ""
    secret_ref: SecretRef | None = None
    secret_file: Path | None = None
    apps: tuple[str, ...] = ()  # names or globs; empty: every app
    events: frozenset[EventKind] = frozenset(EventKind)
    where: str = ""  # ``file:line`` of its entry, for errors found later

    def wants(self, event: EventKind, app: str) -> bool:
        """Whether this provider hears ``event`` of ``app`` (``""``: the repository's own)."""
        if event not in self.events:
            return False
        if not app or not self.apps:
            return True
        return any(fnmatch.fnmatchcase(app, pattern) for pattern in self.apps)


@dataclass(frozen=True)
class RetryPolicy:
    """Failed deliveries are tried again, waiting ``initial`` seconds then twice as long
    each time up to ``maximum``, for ``give_up_after`` seconds; then given up."""

    initial: float = 1.0
    maximum: float = 60.0
    give_up_after: float = 600.0


@dataclass(frozen=True)
class NotificationSettings:
    providers: tuple[Provider, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    filename: str = ""

    @property
    def any(self) -> bool:
        return bool(self.providers)


_SECONDS = {"type": "number", "exclusiveMinimum": 0}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["notifications"],
    "properties": {
        "notifications": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "retry": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "initialDelay": _SECONDS,
                        "maxDelay": _SECONDS,
                        "giveUpAfter": _SECONDS,
                    },
                },
                "providers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "type"],
                        "properties": {
                            "name": {
                                "type": "string",
                                "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
                            },
                            "type": {"type": "string"},
                            "url": {"type": "string", "minLength": 1},
                            "secretRef": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "key": {"type": "string", "minLength": 1},
                                },
                            },
                            "secretFile": {"type": "string", "minLength": 1},
                            "apps": {"type": "array", "items": {"type": "string", "minLength": 1}},
                            "events": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
            },
        }
    },
}

#: The Secret entry a ``secretRef`` without ``key`` names.
DEFAULT_SECRET_KEY = "secret"


def load_notifications(path: str) -> NotificationSettings:
    """The settings in the file at ``path``; :class:`ConfigError` naming file and line."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--notifications {path}: cannot read it: {e}") from e
    return parse_notifications(text, filename=path, base=file.parent)


def parse_notifications(text: str, *, filename: str, base: Path) -> NotificationSettings:
    """``base``: the directory a relative ``secretFile`` is read from."""
    loaded = load_single(text, subject=filename, error=ConfigError)
    node = loaded.node if loaded is not None else None
    doc: Any = loaded.data if loaded is not None else None
    check_schema(doc, node, schema=SCHEMA, filename=filename, name_extra_key=True)
    section = doc["notifications"] or {}
    retry = section.get("retry") or {}
    providers: list[Provider] = []
    for i, raw in enumerate(section.get("providers") or ()):
        provider = _provider(raw, node, ("notifications", "providers", i), filename, base)
        if any(p.name == provider.name for p in providers):
            line = line_of(node, deque(["notifications", "providers", i, "name"]))
            raise ConfigError(f"{filename}:{line}: provider {provider.name!r} is named twice")
        providers.append(provider)
    return NotificationSettings(
        providers=tuple(providers),
        retry=RetryPolicy(
            initial=float(retry.get("initialDelay", 1.0)),
            maximum=float(retry.get("maxDelay", 60.0)),
            give_up_after=float(retry.get("giveUpAfter", 600.0)),
        ),
        filename=filename,
    )


def _provider(
    raw: dict[str, Any],
    node: yaml.Node | None,
    at: tuple[str | int, ...],
    filename: str,
    base: Path,
) -> Provider:
    def where(*key: str | int) -> str:
        return f"{filename}:{line_of(node, deque([*at, *key]))}"

    name = str(raw["name"])
    try:
        kind = ProviderKind(raw["type"])
    except ValueError:
        choices = ", ".join(k.value for k in ProviderKind)
        raise ConfigError(
            f"{where('type')}: provider {name}: unknown provider type {raw['type']!r} ({choices})"
        ) from None
    url = str(raw.get("url", ""))
    if kind is ProviderKind.FORGE:
        for key in ("url", "secretRef", "secretFile"):
            if key in raw:
                raise ConfigError(
                    f"{where(key)}: provider {name}: a forge provider takes no {key}; it uses "
                    "the controller's --forge-url and $GITWARD_FORGE_TOKEN"
                )
    elif kind is ProviderKind.SLACK and ("secretRef" in raw or "secretFile" in raw):
        # An incoming webhook's URL is its credential: it may live in a Secret, read
        # (and checked) at each delivery like a webhook's signing secret.
        if "url" in raw:
            raise ConfigError(
                f"{where('url')}: provider {name}: give the incoming webhook's url or a "
                "secretRef/secretFile holding it, not both"
            )
    else:
        check_url(url, name=name, where=where("url") if "url" in raw else where())
    secret_ref: SecretRef | None = None
    if "secretRef" in raw:
        ref = raw["secretRef"]
        if not SECRET_NAME.fullmatch(ref["name"]):
            raise ConfigError(
                f"{where('secretRef', 'name')}: provider {name}: {ref['name']!r} is not a "
                "Secret name"
            )
        secret_ref = SecretRef(name=ref["name"], key=ref.get("key", DEFAULT_SECRET_KEY))
    secret_file: Path | None = None
    if "secretFile" in raw:
        secret_file = (base / Path(raw["secretFile"]).expanduser()).resolve()
        if not secret_file.is_file():
            raise ConfigError(
                f"{where('secretFile')}: provider {name}: secret file {raw['secretFile']} "
                "does not exist"
            )
    if kind is ProviderKind.WEBHOOK and (secret_ref is None) == (secret_file is None):
        raise ConfigError(
            f"{where()}: provider {name}: a webhook is signed with a secret; give exactly "
            "one of secretRef or secretFile"
        )
    if kind is ProviderKind.SLACK and secret_ref and secret_file:
        raise ConfigError(
            f"{where()}: provider {name}: give one of secretRef or secretFile, not both"
        )
    events = frozenset(EventKind)
    if "events" in raw:
        chosen: set[EventKind] = set()
        for j, value in enumerate(raw["events"]):
            try:
                chosen.add(EventKind(value))
            except ValueError:
                known = ", ".join(e.value for e in EventKind)
                raise ConfigError(
                    f"{where('events', j)}: provider {name}: unknown event {value!r} ({known})"
                ) from None
        events = frozenset(chosen)
    return Provider(
        name=name,
        kind=kind,
        url=url,
        secret_ref=secret_ref,
        secret_file=secret_file,
        apps=tuple(raw.get("apps", ())),
        events=events,
        where=where(),
    )


def check_url(url: str, *, name: str, where: str) -> None:
    """``url`` is an absolute http(s) URL; else :class:`ConfigError` naming ``where``."""
    if not url:
        raise ConfigError(f"{where}: provider {name}: no url")
    parts = urlsplit(url)
    if "://" not in url or not parts.scheme:
        raise ConfigError(
            f"{where}: provider {name}: url {url!r} has no scheme; write https://{url}"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: provider {name}: url {url!r} is not an http(s) URL")
