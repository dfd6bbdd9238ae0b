"""What the UI reads from the cluster beyond the controller's memory, through its client.

The Pods and ReplicaSets a Deployment made, and the Events on an app's
objects, are not tracked by the controller: they are listed per namespace of
the app when an app page is opened, through the controller's
:class:`~gitward.kube.Kube` (the only package that talks to the API server).
A read that fails leaves that part of the page empty with the reason, never
the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitward.kube import Kube, KubeError
from gitward.objects import Body

__all__ = ["EventView", "list_events", "list_owned"]

#: What Kubernetes makes from an app's objects, listed to build the tree.
OWNED_KINDS = (("apps/v1", "ReplicaSet"), ("v1", "Pod"), ("batch/v1", "Job"))
MAX_EVENTS = 50


@dataclass(frozen=True)
class EventView:
    when: str
    type: str
    reason: str
    object: str
    message: str
    count: int


async def _list(kube: Kube, api_version: str, kind: str, namespaces: Iterable[str]) -> list[Body]:
    resource = await kube.resource_for(api_version, kind)
    if resource is None:
        return []
    out: list[Body] = []
    for namespace in sorted(set(namespaces)):
        items, _ = await kube.list(resource, namespace=namespace)
        out.extend(items)
    return out


async def list_owned(kube: Kube, namespaces: Iterable[str]) -> tuple[list[Body], str]:
    """ReplicaSets, Pods and Jobs in ``namespaces``, and the error if a list failed."""
    namespaces = [n for n in namespaces if n]
    owned: list[Body] = []
    try:
        for api_version, kind in OWNED_KINDS:
            owned.extend(await _list(kube, api_version, kind, namespaces))
    except KubeError as e:
        return owned, f"cluster: {e}"
    return owned, ""


def _event_view(body: Body) -> EventView:
    involved = body.get("involvedObject") or {}
    namespace = involved.get("namespace") or ""
    subject = "/".join(p for p in (involved.get("kind"), namespace, involved.get("name")) if p)
    when = body.get("lastTimestamp") or body.get("eventTime") or body.get("firstTimestamp") or ""
    return EventView(
        when=str(when),
        type=str(body.get("type") or ""),
        reason=str(body.get("reason") or ""),
        object=subject,
        message=str(body.get("message") or "")[:512],
        count=int(body.get("count") or 1),
    )


async def list_events(
    kube: Kube, namespaces: Iterable[str], uids: set[str]
) -> tuple[Sequence[EventView], str]:
    """The newest Events on the objects with ``uids``, and the error if the list failed."""
    try:
        events = await _list(kube, "v1", "Event", [n for n in namespaces if n])
    except KubeError as e:
        return [], f"cluster: {e}"
    mine = [e for e in events if str((e.get("involvedObject") or {}).get("uid") or "") in uids]
    views = sorted((_event_view(e) for e in mine), key=lambda v: v.when, reverse=True)
    return views[:MAX_EVENTS], ""
