"""Which objects the controller tracks, the watches on them, and events held back.

After every reconcile the controller tracks what the app's plan manages, with
the fingerprints its inventory recorded (uid, field and value hashes), and
makes sure a watch covers each kind and namespace. While an app syncs or an
object heals, events about its objects are parked here and handed back once
the new fingerprints are known, so gitward never judges its own writes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection

from gitward.config.apps import AppSpec
from gitward.heal.keeping import kept_desired, kept_live
from gitward.heal.state import Tracked
from gitward.heal.watches import EventHandler, WatchHub
from gitward.kube import Kube
from gitward.objects import Body, ObjectRef
from gitward.plan.inventory import Inventory, InventoryEntry
from gitward.plan.model import Plan
from gitward.plan.ownership import tracking_id as owner

Event = tuple[str, Body]  # (watch event type, object)


class Tracker:
    """The tracked objects by ref, and the parked event of each, if any.

    What is tracked is also kept by app, so that tracking one app, letting go
    of one or finding its parked events costs that app's own objects, not every
    tracked object: a cold start of a thousand apps tracks each in turn. Only
    this class changes :attr:`objects`; everyone else reads it."""

    def __init__(self, *, kube: Kube) -> None:
        self.kube = kube
        self.objects: dict[ObjectRef, Tracked] = {}
        self._by_app: dict[str, dict[ObjectRef, Tracked]] = {}
        self.parked: dict[ObjectRef, Event] = {}
        # Tracking ids of the apps being synced: their new objects' events come
        # before the objects are tracked, and are parked, not dropped.
        self.syncing: dict[str, str] = {}  # tracking id to app name
        self.changes = 0  # grows with every change of what is tracked or its live bodies
        # The apps whose tracked objects or live bodies changed, each with the value
        # of :attr:`changes` at its last change, oldest first: whoever assesses
        # health again walks only the apps changed since it last looked.
        self._changed: dict[str, int] = {}
        self.hub: WatchHub | None = None

    def open(self, *, on_event: EventHandler, on_restart: Callable[[str], None]) -> None:
        """Start afresh: the watches of the objects tracked next open as they are tracked."""
        self.hub = WatchHub(kube=self.kube, on_event=on_event, on_restart=on_restart)

    async def close(self) -> None:
        """Stop every heal in flight and every watch."""
        for t in self.objects.values():
            if t.heal_task is not None:
                t.heal_task.cancel()
        if self.hub is not None:
            await self.hub.close()
            self.hub = None

    @property
    def down(self) -> dict[str, str]:
        """Watches that failed and wait for their restart: name to the reason."""
        return self.hub.down if self.hub is not None else {}

    async def track(self, spec: AppSpec, plan: Plan, inv: Inventory | None) -> None:
        """Track what ``plan`` manages for ``spec`` (and nothing else of that app)."""
        self.touch(spec.name)
        entries: dict[ObjectRef, InventoryEntry] = inv.by_ref() if inv else {}
        mine: dict[ObjectRef, Tracked] = {}
        assert self.hub is not None
        for o in plan.managed():
            if o.desired is None:
                continue
            entry = entries.get(o.ref)
            old = self.objects.get(o.ref)
            live = old.live if old else (kept_live(o.live) if o.live is not None else None)
            parked = self.parked.get(o.ref)
            if parked is not None:
                # What a watch saw of it during the sync is newer than what the plan read.
                live = None if parked[0] == "DELETED" else kept_live(parked[1])
            t = Tracked(
                app=spec.name,
                ref=o.ref,
                api_version=sys.intern(o.api_version),
                # The same body as before stays the same object: what was drawn of it is reused.
                desired=old.desired
                if old and old.desired == o.desired
                else kept_desired(o.desired),
                ignore=o.ignore,
                manager=plan.field_manager,
                uid=entry.uid if entry else "",
                fields_hash=entry.fields if entry else "",
                values_hash=entry.values if entry else "",
                fields=old.fields if old and entry and old.fields_hash == entry.fields else {},
                heal_task=old.heal_task if old else None,
                live=live,
            )
            if old is not None and old.app != spec.name:
                # Another app's object until now (it moved between apps).
                self._by_app.get(old.app, {}).pop(o.ref, None)
            self.objects[o.ref] = t
            mine[o.ref] = t
            res = await self.kube.resource_for(o.api_version, o.ref.kind)
            if res is not None:
                self.hub.ensure(res, o.ref.namespace)
        before = self._by_app.get(spec.name, {})
        for ref in before.keys() - mine.keys():
            # Only if no other app took it over meanwhile.
            if (gone := self.objects.get(ref)) is not None and gone.app == spec.name:
                del self.objects[ref]
        if mine:
            self._by_app[spec.name] = mine
        else:
            self._by_app.pop(spec.name, None)
        # Again, now that all is in place: a look during the awaits above saw half of it.
        self.touch(spec.name)
        if self.parked:
            ident = spec.id.tracking_id
            out = [r for r, (_, b) in self.parked.items() if r not in mine and owner(b) == ident]
            for ref in out:
                del self.parked[ref]

    def keep_only(self, apps: Collection[str]) -> None:
        """Let go of the objects of every app not in ``apps``, cancelling their heals."""
        self.changes += 1
        for app in [a for a in self._by_app if a not in apps]:
            self.touch(app)
            for ref, t in self._by_app.pop(app).items():
                if self.objects.get(ref) is t:
                    del self.objects[ref]
                if t.heal_task is not None:
                    t.heal_task.cancel()

    def touch(self, app: str) -> None:
        """Count a change of ``app``'s tracked objects or of their live bodies."""
        self.changes += 1
        self._changed.pop(app, None)
        self._changed[app] = self.changes

    def changed_since(self, changes: int) -> list[str]:
        """The apps changed since :attr:`changes` was ``changes``, newest first."""
        out: list[str] = []
        for app, at in reversed(self._changed.items()):
            if at <= changes:
                break
            out.append(app)
        return out

    def of_app(self, app: str) -> list[Tracked]:
        """The tracked objects of ``app``."""
        return list(self._by_app.get(app, {}).values())

    def parked_refs(self, app: str) -> list[ObjectRef]:
        """The tracked objects of ``app`` that have an event parked."""
        if not self.parked:
            return []
        return [r for r in self._by_app.get(app, {}) if r in self.parked]


__all__ = ["Event", "Tracker"]
