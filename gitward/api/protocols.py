"""The one seam between the HTTP API and the controller behind it.

The server knows nothing about reconciles, watches or the cluster. It asks a
:class:`StatusSource`, which the controller implements. Tests pass a fake with
canned data. The payloads are JSON-ready dicts in the one public shape of
:mod:`gitward.views`, which the controller builds from its own state, so the
API needs no second model of an app and spells every field as the CLI does.

Reads are synchronous because they come from the controller's memory, except
:meth:`StatusSource.history`, which reads the history ConfigMaps from the
cluster.

A source that cannot answer for a reason it knows (the cluster is unreachable,
a record is corrupt) raises :class:`SourceError` with the HTTP status and a
message that starts with its subject. Anything else is a bug: a bare 500.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol, TypeAlias

from gitward.api.webhooks import WebhookEvent

__all__ = ["JSONObject", "SourceError", "StatusSource"]

#: A JSON object as ``json.dumps`` takes it: str keys, JSON-ready values.
JSONObject: TypeAlias = dict[str, Any]


class SourceError(Exception):
    """A known reason the source cannot answer: the API answers ``status`` with ``message``."""

    def __init__(self, message: str, *, status: int = 503) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class StatusSource(Protocol):
    """What the controller tells the API. Every method must be cheap, except ``history``."""

    def liveness(self) -> str:
        """Empty while the process works; else why it should be restarted (a task is down)."""
        ...

    def readiness(self) -> str:
        """Empty when this replica should take traffic; else why not."""
        ...

    def unavailable(self) -> str:
        """Empty when the app routes can answer here; else why not (e.g. this is a standby)."""
        ...

    def app_names(self) -> Collection[str]:
        """The names of the apps the controller manages, in display order."""
        ...

    def shards(self) -> JSONObject:
        """This replica, the shards it serves, and who holds each shard's Lease as last read."""
        ...

    def app_summary(self, name: str) -> JSONObject:
        """One app in a list: sync status, health, revision. ``name`` is in ``app_names()``."""
        ...

    def app_detail(self, name: str) -> JSONObject | None:
        """One app in full, or ``None`` when the controller does not manage ``name``."""
        ...

    def drift_records(self, name: str) -> Sequence[JSONObject]:
        """The drift the controller saw for app ``name`` and what it did, newest first."""
        ...

    async def history(self, name: str) -> Sequence[JSONObject]:
        """The syncs of app ``name`` recorded in the cluster, newest first."""
        ...

    def webhook_secret(self) -> str:
        """The shared webhook secret; empty when webhooks are not configured."""
        ...

    async def on_webhook(self, event: WebhookEvent) -> None:
        """Take a verified webhook. Must return promptly: queue a fetch, do not reconcile.

        Raises :class:`SourceError` when it cannot take it (a standby would drop it).
        """
        ...
