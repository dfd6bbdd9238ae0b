"""Mapping (group, kind) to REST resources, from the API server's discovery.

Rendered objects name a kind; the API wants a plural resource path and must be
told whether the kind is namespaced. The map is built lazily from the
aggregated discovery documents and refreshed when a kind is missing, which is
what happens right after a CRD becomes Established.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# What to ask for to get the aggregated documents (Kubernetes 1.30+), plain JSON otherwise.
AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, *, namespace: str = "", name: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        return base


class RestMapper:
    """(group, kind) -> preferred :class:`Resource`; also (group, version, kind)."""

    def __init__(self) -> None:
        self._preferred: dict[tuple[str, str], Resource] = {}
        self._versioned: dict[tuple[str, str, str], Resource] = {}

    def add(self, resource: Resource, *, preferred: bool) -> None:
        self._versioned[(resource.group, resource.version, resource.kind)] = resource
        if preferred or (resource.group, resource.kind) not in self._preferred:
            self._preferred[(resource.group, resource.kind)] = resource

    def lookup(self, group: str, kind: str, version: str | None = None) -> Resource | None:
        if version is not None:
            found = self._versioned.get((group, version, kind))
            if found is not None:
                return found
        return self._preferred.get((group, kind))

    def __len__(self) -> int:
        return len(self._versioned)


def add_aggregated(mapper: RestMapper, doc: Any) -> bool:
    """Add every resource of an aggregated discovery document (``/api`` or ``/apis``).

    ``False`` when ``doc`` is no ``APIGroupDiscoveryList``: the server is older.
    """
    if not isinstance(doc, dict) or doc.get("kind") != "APIGroupDiscoveryList":
        return False
    for group in doc.get("items", []):
        name = (group.get("metadata") or {}).get("name", "")
        for i, version in enumerate(group.get("versions", [])):
            for r in version.get("resources", []):
                kind = (r.get("responseKind") or {}).get("kind")
                if not kind:
                    continue
                mapper.add(
                    Resource(
                        group=name,
                        version=version["version"],
                        kind=kind,
                        plural=r["resource"],
                        namespaced=r.get("scope") == "Namespaced",
                        verbs=frozenset(r.get("verbs", [])),
                    ),
                    preferred=i == 0,
                )
    return True


def add_group_version(
    mapper: RestMapper, group: str, version: str, doc: dict[str, Any], *, preferred: bool
) -> None:
    """Add the resources of one group version's discovery document (``APIResourceList``)."""
    for r in doc.get("resources", []):
        if "/" in r["name"]:
            continue  # subresources
        mapper.add(
            Resource(
                group=group,
                version=version,
                kind=r["kind"],
                plural=r["name"],
                namespaced=bool(r["namespaced"]),
                verbs=frozenset(r.get("verbs", [])),
            ),
            preferred=preferred,
        )
