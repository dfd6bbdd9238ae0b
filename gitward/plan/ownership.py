"""Whose an object is: the tracking annotation, and the field managers behind it.

Checked on the live objects a plan reads anyway, so ownership costs no request.
"""

from __future__ import annotations

from gitward.config.identity import (
    SHARED_FIELD_MANAGER,
    TRACKING_ANNOTATION,
    AppId,
    owner_of,
)
from gitward.objects import Body
from gitward.plan.inventory import InventoryEntry, managed_fields


def ownership_error(ident: AppId, live: Body, *, adopt: bool) -> str | None:
    """Why this app may not apply ``live``'s object, or ``None`` when it may."""
    owner = owner_of((live.get("metadata") or {}).get("annotations"))
    if owner is not None:
        if owner.key != ident.key:
            return (
                f"owned by {owner.describe()}; {ident.describe()} renders it too. "
                "An object has exactly one owner app: remove it from one of them"
            )
        if owner.source != ident.source and not adopt:
            return (
                f"owned by {owner.describe()}; this sync is from {ident.source}. "
                f"To hand app {ident.key} over to this source, sync with --adopt"
            )
        return None
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        manager = str(entry.get("manager", ""))
        if (
            manager.startswith("gitward/")
            and manager != ident.field_manager
            and entry.get("operation") == "Apply"
        ):
            other = manager.removeprefix("gitward/")
            return (
                f"applied by app {other} (field manager {manager}); {ident.describe()} "
                "renders it too. An object has exactly one owner app: remove it from one of them"
            )
    return None


def not_ours(ident: AppId, entry: InventoryEntry, live: Body, *, adopt: bool) -> str:
    """Why prune must leave ``live`` alone although the inventory lists it; ``""`` if ours."""
    owner = owner_of((live.get("metadata") or {}).get("annotations"))
    if owner is not None:
        if owner.key == ident.key and (owner.source == ident.source or adopt):
            return ""
        return f"not pruned: owned by {owner.describe()}"
    # No tracking annotation: only what gitward applied before objects carried
    # one, recorded with its uid, may go.
    if entry.uid and (
        managed_fields(live, SHARED_FIELD_MANAGER) is not None
        or managed_fields(live, ident.field_manager) is not None
    ):
        return ""
    return f"not pruned: it carries no {TRACKING_ANNOTATION} naming {ident.describe()}"


def tracking_id(body: Body) -> str | None:
    return ((body.get("metadata") or {}).get("annotations") or {}).get(TRACKING_ANNOTATION)
