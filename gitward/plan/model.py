"""The plan: every object of an app with the action a sync would take on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gitward.config.identity import SHARED_FIELD_MANAGER
from gitward.objects import Body, ObjectRef
from gitward.plan.order import SortKey


class Action(StrEnum):
    """What a sync does to one object, in the past tense once it is done."""

    CREATE = "create"
    UPDATE = "update"
    RECREATE = "recreate"
    UNCHANGED = "unchanged"
    PRUNE = "prune"
    HOOK = "hook"
    SKIP = "skip"  # would be pruned, but opted out or the app does not prune

    @property
    def changes(self) -> bool:
        return self in (Action.CREATE, Action.UPDATE, Action.RECREATE, Action.PRUNE)


# The source of the Namespace a plan creates for ``createNamespace: true``: it is
# never tracked, recorded in the inventory or pruned.
CREATE_NAMESPACE_SOURCE = "(createNamespace)"


@dataclass(frozen=True)
class PlannedObject:
    ref: ObjectRef
    api_version: str
    action: Action
    source: str
    sort_key: SortKey
    desired: Body | None = field(default=None, compare=False, repr=False)
    live: Body | None = field(default=None, compare=False, repr=False)
    diff: str = ""
    desired_hash: str = ""
    ignore: tuple[str, ...] = ()
    reason: str = ""
    # A new object checked against the API server's schema only, not by a dry-run:
    # the server judges it first when it is created (see gitward.apply.provisional).
    schema_only: bool = False

    @property
    def moves_from_shared_manager(self) -> bool:
        """Its fields are still held by the field manager all apps once shared."""
        return self.live is not None and any(
            e.get("manager") == SHARED_FIELD_MANAGER and e.get("operation") == "Apply"
            for e in (self.live.get("metadata") or {}).get("managedFields") or []
        )


@dataclass(frozen=True)
class ObjectError:
    """A problem that stops the whole sync before anything is written."""

    ref: ObjectRef | None
    source: str
    message: str
    ownership: bool = False  # another app or source owns the object

    def __str__(self) -> str:
        where = f" ({self.source})" if self.source else ""
        subject = str(self.ref) if self.ref else self.source
        return f"{subject}{where if self.ref else ''}: {self.message}"


@dataclass(frozen=True)
class Plan:
    app: str
    objects: tuple[PlannedObject, ...]
    errors: tuple[ObjectError, ...] = ()
    # The app is installed: hooks are upgrades. The plan says so when the app's
    # objects exist; a sync decides it by its history (gitward.reconcile).
    installed: bool = False
    field_manager: str = SHARED_FIELD_MANAGER  # the app's own (see gitward.config.identity)
    rebuilt: int = 0  # objects found by their tracking annotation when the inventory was lost

    @property
    def changes(self) -> tuple[PlannedObject, ...]:
        return tuple(o for o in self.objects if o.action.changes)

    @property
    def in_sync(self) -> bool:
        return not self.changes and not self.errors

    def of(self, action: Action) -> tuple[PlannedObject, ...]:
        return tuple(o for o in self.objects if o.action is action)

    def to_apply(self) -> tuple[PlannedObject, ...]:
        """The objects a sync leaves in the cluster: all but prunes, skips and hooks."""
        return tuple(
            o for o in self.objects if o.action not in (Action.PRUNE, Action.SKIP, Action.HOOK)
        )

    def managed(self) -> tuple[PlannedObject, ...]:
        """What the app keeps in its inventory and the controller watches: the objects
        it applies, without the Namespace ``createNamespace`` makes."""
        return tuple(o for o in self.to_apply() if o.source != CREATE_NAMESPACE_SOURCE)
