"""Identities and bodies of Kubernetes objects, shared by every layer.

Raw objects stay plain dicts (the API's own JSON); what gitward adds around
them is frozen and typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Body = dict[str, Any]

# The field manager gitward applies as; its managedFields entry is what we own.
FIELD_MANAGER = "gitward"


def group_of(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` -> ``""`` (the core group)."""
    return api_version.split("/", 1)[0] if "/" in api_version else ""


@dataclass(frozen=True, order=True, slots=True)
class ObjectRef:
    """What names one object in a cluster. ``namespace`` is ``""`` when cluster-scoped.

    The controller holds one for every object it tracks: slots, not a dict each."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, body: Body) -> ObjectRef:
        meta = body.get("metadata") or {}
        return cls(
            group=group_of(str(body.get("apiVersion", ""))),
            kind=str(body.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
        )

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Manifest:
    """One rendered object and where it came from (a path relative to the app)."""

    body: Body = field(hash=False, compare=False)
    source: str

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef.of(self.body)

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def annotations(self) -> dict[str, str]:
        meta = self.body.get("metadata") or {}
        return dict(meta.get("annotations") or {})
