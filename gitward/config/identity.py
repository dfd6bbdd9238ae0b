"""Who an app is, and how that identity is written on what it owns.

An app's name alone is not enough: two config repositories may both declare
an app ``shop``, and one repository may deploy several environments into one
cluster. An app is therefore keyed by its environment and name (``key``), and
its records and objects also name the *source* it comes from: the repository
URL without credentials. A sync from another source that finds the app's
records stops instead of treating them as its own; handing an app over is a
deliberate act (``--adopt``).

Every object an app applies carries ``gitward.io/tracking-id:
<key>@<source>``. That makes ownership visible on the object itself: a second
app that renders it is refused, prune never deletes what another app owns,
and a lost inventory can be rebuilt from the cluster.

Each app also writes as a field manager of its own (``gitward/<key>``), so
another app, or an older gitward writing as the shared manager ``gitward``,
shows up as another actor in ``managedFields``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

TRACKING_ANNOTATION = "gitward.io/tracking-id"
# The one field manager every app shared before apps had their own; records keep it.
SHARED_FIELD_MANAGER = "gitward"


@dataclass(frozen=True)
class AppId:
    name: str
    environment: str = ""
    source: str = ""

    @property
    def key(self) -> str:
        """Unique per cluster: ``<environment>.<name>``, or ``<name>`` without one."""
        return f"{self.environment}.{self.name}" if self.environment else self.name

    @property
    def tracking_id(self) -> str:
        return f"{self.key}@{self.source}"

    @property
    def field_manager(self) -> str:
        return f"gitward/{self.key}"

    def describe(self) -> str:
        return f"app {self.key} from {self.source or '(unknown source)'}"


@dataclass(frozen=True)
class Owner:
    """What a tracking annotation says: which app key, from which source."""

    key: str
    source: str

    @classmethod
    def parse(cls, value: str) -> Owner:
        key, _, source = value.partition("@")
        return cls(key=key, source=source)

    def describe(self) -> str:
        return f"app {self.key} from {self.source or '(unknown source)'}"


def owner_of(annotations: dict[str, str] | None) -> Owner | None:
    """The owner an object's tracking annotation names, or ``None``."""
    value = (annotations or {}).get(TRACKING_ANNOTATION)
    return Owner.parse(value) if value else None


def records_namespace() -> str:
    """Where gitward keeps its records (inventories, histories); no app may touch it."""
    return os.environ.get("GITWARD_NAMESPACE", "gitward-system")
