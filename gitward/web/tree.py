"""The resource tree of one app: its objects, and what Kubernetes made from them.

An app's objects are the roots. Below each come the objects whose
``ownerReferences`` name it by uid (a Deployment's ReplicaSets, their Pods),
as deep as they go. Every node carries its health and, when it is not
Healthy, the reason (:func:`gitward.health.assess`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gitward.health import Health, assess
from gitward.health.status import HealthStatus
from gitward.objects import Body, ObjectRef
from gitward.web.protocols import ObjectState

__all__ = ["Node", "build_tree", "uids"]

#: How deep ownership is followed; real chains are two or three deep.
MAX_DEPTH = 6


@dataclass(frozen=True)
class Node:
    kind: str
    namespace: str
    name: str
    health: str
    reason: str
    #: True for the app's own objects (in git); False for what the cluster made.
    managed: bool
    children: tuple[Node, ...] = ()

    @property
    def ref(self) -> str:
        return (
            f"{self.kind}/{self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind}/{self.name}"
        )


def _uid(body: Body | None) -> str:
    return str(((body or {}).get("metadata") or {}).get("uid") or "")


def uids(objects: Iterable[ObjectState], owned: Iterable[Body]) -> set[str]:
    """The uids of every node of the tree: the Events of these objects belong to the app."""
    return {u for u in (*(_uid(o.live) for o in objects), *(_uid(b) for b in owned)) if u}


def _node(
    ref: ObjectRef,
    body: Body | None,
    *,
    managed: bool,
    children: tuple[Node, ...],
    health_of: Callable[[Body | None], Health] = assess,
) -> Node:
    health = health_of(body)
    reason = "" if health.status is HealthStatus.HEALTHY else health.message
    return Node(ref.kind, ref.namespace, ref.name, health.status.value, reason, managed, children)


def build_tree(
    objects: Sequence[ObjectState],
    owned: Sequence[Body],
    *,
    health_of: Callable[[Body | None], Health] = assess,
) -> tuple[Node, ...]:
    """The app's objects with everything in ``owned`` that they own, directly or not.

    ``health_of`` assesses the app's own objects (a cache may stand in for
    :func:`~gitward.health.assess`); what the cluster made is assessed anew.
    """
    by_owner: dict[str, list[Body]] = {}
    for body in owned:
        for owner in (body.get("metadata") or {}).get("ownerReferences") or []:
            if isinstance(owner, dict) and owner.get("uid"):
                by_owner.setdefault(str(owner["uid"]), []).append(body)

    def below(uid: str, depth: int) -> tuple[Node, ...]:
        if not uid or depth > MAX_DEPTH:
            return ()
        bodies = sorted(by_owner.get(uid, ()), key=lambda b: (b.get("kind", ""), _name(b)))
        return tuple(
            _node(ObjectRef.of(b), b, managed=False, children=below(_uid(b), depth + 1))
            for b in bodies
        )

    return tuple(
        _node(o.ref, o.live, managed=True, children=below(_uid(o.live), 1), health_of=health_of)
        for o in objects
    )


def _name(body: Body) -> str:
    return str((body.get("metadata") or {}).get("name") or "")
