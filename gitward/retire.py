"""Apps removed from ``gitward.yaml``: prune what they owned, or let it go on purpose.

An app that leaves ``gitward.yaml`` leaves its inventory behind, and that
inventory still names the source it came from. So the apps a source has
retired are its inventories whose key no app of its ``gitward.yaml`` has any
more: one LIST of the records namespace finds them.

An app that pruned (``prune: true`` when it last synced, kept in its
inventory) takes its objects with it, with the same care as a prune: only
objects whose tracking annotation still names it, with a uid precondition,
never a CustomResourceDefinition unless it says ``gitward.io/prune: "true"``
(that would delete every custom resource of its kind). An app that did not
prune leaves its objects in place, and says so. Either way its records go.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitward.config.identity import (
    SHARED_FIELD_MANAGER,
    TRACKING_ANNOTATION,
    AppId,
    owner_of,
)
from gitward.kube import Kube, KubeError
from gitward.objects import Body, Manifest, ObjectRef
from gitward.plan.inventory import Inventory, InventoryEntry, managed_fields
from gitward.plan.order import sort_key
from gitward.record import apprecords

PRUNE_ANNOTATION = "gitward.io/prune"


@dataclass(frozen=True)
class Retired:
    """What retiring one app did."""

    app: str  # its key
    source: str
    pruned: tuple[ObjectRef, ...] = ()
    orphaned: tuple[ObjectRef, ...] = ()  # left in the cluster on purpose
    kept: tuple[tuple[ObjectRef, str], ...] = ()  # not deleted, and why
    failed: tuple[tuple[ObjectRef, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed


async def retire_removed(kube: Kube, *, source: str, keys: set[str]) -> list[Retired]:
    """Retire every app of ``source`` whose key is not in ``keys`` any more."""
    return [await retire(kube, inv) for inv in await retired(kube, source=source, keys=keys)]


async def retired(kube: Kube, *, source: str, keys: set[str]) -> list[Inventory]:
    """The inventories of ``source`` whose app key is not in ``keys`` any more."""
    return [
        inv
        for inv in await apprecords.load_all_inventories(kube)
        if inv.source == source and inv.app not in keys
    ]


async def retire(kube: Kube, inventory: Inventory) -> Retired:
    """Prune (or orphan) a removed app's objects, then delete its records.

    Records stay when a delete failed, so the next attempt still knows the rest.
    """
    if not inventory.prune:
        done = Retired(
            app=inventory.app,
            source=inventory.source,
            orphaned=tuple(e.ref for e in inventory.entries),
        )
    else:
        done = await _prune_all(kube, inventory)
    if done.ok:
        await apprecords.forget(kube, inventory.app)
    return done


async def _prune_all(kube: Kube, inventory: Inventory) -> Retired:
    live: list[tuple[InventoryEntry, Body]] = []
    kept: list[tuple[ObjectRef, str]] = []
    for entry in inventory.entries:
        res = await kube.resource_for(entry.api_version, entry.kind)
        body = (
            None if res is None else await kube.get(res, name=entry.name, namespace=entry.namespace)
        )
        if body is None:
            continue
        why = _keep(inventory, entry, body)
        if why:
            kept.append((entry.ref, why))
        else:
            live.append((entry, body))
    # Dependents before what they depend on: the sync order, backwards.
    live.sort(key=lambda eb: sort_key(Manifest(body=eb[1], source="(inventory)")), reverse=True)
    pruned: list[ObjectRef] = []
    failed: list[tuple[ObjectRef, str]] = []
    for entry, body in live:
        res = await kube.resource_for(entry.api_version, entry.kind)
        assert res is not None
        try:
            await kube.delete(
                res, name=entry.name, namespace=entry.namespace, uid=body["metadata"]["uid"]
            )
        except KubeError as e:
            failed.append((entry.ref, str(e).split(": ", 1)[-1]))
            continue
        pruned.append(entry.ref)
    return Retired(
        app=inventory.app,
        source=inventory.source,
        pruned=tuple(pruned),
        kept=tuple(kept),
        failed=tuple(failed),
    )


def _keep(inventory: Inventory, entry: InventoryEntry, body: Body) -> str:
    """Why this object must stay although the removed app's inventory lists it."""
    meta = body.get("metadata") or {}
    if entry.uid and meta.get("uid") != entry.uid:
        return "a different object of the same name"
    annotations = meta.get("annotations") or {}
    owner = owner_of(annotations)
    if owner is not None and (owner.key, owner.source) != (inventory.app, inventory.source):
        return f"owned by {owner.describe()}"
    if owner is None and not any(
        managed_fields(body, m) is not None
        for m in (SHARED_FIELD_MANAGER, AppId(name=inventory.app).field_manager)
    ):
        return f"carries no {TRACKING_ANNOTATION} naming the app"
    if annotations.get(PRUNE_ANNOTATION) == "false":
        return f"{PRUNE_ANNOTATION}: 'false'"
    if entry.kind == "CustomResourceDefinition" and annotations.get(PRUNE_ANNOTATION) != "true":
        return (
            "a CustomResourceDefinition: deleting it deletes every custom resource of its "
            f'kind; annotate it {PRUNE_ANNOTATION}: "true" to let it go'
        )
    return ""
