"""An app's status: is the cluster what git says (sync), and is it working (health)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gitward.config.apps import AppSpec
from gitward.config.tenancy import Policy
from gitward.health import Health, aggregate
from gitward.kube import Kube
from gitward.objects import Manifest
from gitward.plan.model import Action
from gitward.record import history
from gitward.sync import RevisionInfo, SyncOptions, live_health, plan_app


class SyncState(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class ObjectStatus:
    object: str
    sync: SyncState
    health: Health
    action: str


@dataclass(frozen=True)
class AppStatus:
    app: str
    sync: SyncState
    health: Health
    revision: str
    last_synced_revision: str
    last_synced_at: str
    objects: tuple[ObjectStatus, ...]
    errors: tuple[str, ...] = ()
    inventory_rebuilt: int = 0  # objects found by tracking annotation: the inventory was lost


async def app_status(
    *,
    kube: Kube,
    app: AppSpec,
    manifests: tuple[Manifest, ...],
    revision: RevisionInfo,
    as_app: Kube | None = None,
    policy: Policy | None = None,
) -> AppStatus:
    """``as_app``: the client the app's reads go through (see :func:`gitward.sync.plan_app`)."""
    plan, _ = await plan_app(
        kube=kube,
        app=app,
        manifests=manifests,
        options=SyncOptions(policy=policy),
        diffs=False,
        as_app=as_app,
    )
    tracked = [o for o in plan.objects if o.action not in (Action.HOOK, Action.SKIP)]
    healths = await live_health(kube=as_app or kube, refs=[(o.ref, o.api_version) for o in tracked])
    objects = tuple(
        ObjectStatus(
            object=str(o.ref),
            sync=SyncState.OUT_OF_SYNC if o.action.changes else SyncState.SYNCED,
            health=healths[o.ref],
            action=o.action.value,
        )
        for o in tracked
    )
    records = await history.load(kube, app.id.key)
    state = (
        SyncState.UNKNOWN
        if plan.errors
        else (SyncState.SYNCED if plan.in_sync else SyncState.OUT_OF_SYNC)
    )
    return AppStatus(
        app=app.name,
        sync=state,
        health=aggregate(healths[o.ref] for o in tracked if o.action is not Action.PRUNE),
        revision=revision.sha,
        last_synced_revision=records[0].revision if records else "",
        last_synced_at=records[0].started_at if records else "",
        objects=objects,
        errors=tuple(str(e) for e in plan.errors),
        inventory_rebuilt=plan.rebuilt,
    )
