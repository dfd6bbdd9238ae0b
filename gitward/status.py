"""An app's status: is the cluster what git says (sync), and is it working (health).

Status tells the whole truth or says it cannot: every object is listed, the one
that fails the plan included, each with the reason it is not Synced and Healthy,
and the app with the reason it is not. An app that has never been applied and
cannot be planned has no health at all: "Healthy, 0 objects" would be a lie.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gitward.config.apps import AppSpec
from gitward.config.tenancy import Policy
from gitward.health import Health, HealthStatus, aggregate
from gitward.kube import Kube
from gitward.objects import Manifest, ObjectRef
from gitward.plan.model import Action, Plan
from gitward.reconcile import PlanInvalid, SyncOptions, live_health, plan_app
from gitward.record import apprecords
from gitward.record.history import SyncOutcome, SyncRecord
from gitward.source.revisions import Revision


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
    reason: str = ""  # why it is not Synced and Healthy: a plan error, a plan reason, health


@dataclass(frozen=True)
class AppStatus:
    app: str
    sync: SyncState
    health: Health | None  # None: never applied and cannot be planned
    revision: str
    last_synced_revision: str
    last_synced_at: str
    objects: tuple[ObjectStatus, ...]
    errors: tuple[str, ...] = ()
    inventory_rebuilt: int = 0  # objects found by tracking annotation: the inventory was lost
    reason: str = ""  # why the app is not Synced and Healthy, in one line
    last_sync_result: SyncOutcome | None = None  # None: no sync recorded
    # ``name@version`` of the charts this revision renders, with the code commit each
    # was built from when the chart says so (``gitward ci`` writes it).
    charts: tuple[str, ...] = ()


async def app_status(
    *,
    kube: Kube,
    app: AppSpec,
    manifests: tuple[Manifest, ...],
    revision: Revision,
    as_app: Kube | None = None,
    policy: Policy | None = None,
    charts: tuple[str, ...] = (),
) -> AppStatus:
    """``as_app``: the client the app's reads go through (see
    :func:`gitward.reconcile.plan_app`)."""
    plan, _ = await plan_app(
        kube=kube,
        app=app,
        manifests=manifests,
        options=SyncOptions(policy=policy),
        diffs=False,
        as_app=as_app,
    )
    tracked = [o for o in plan.objects if o.action not in (Action.HOOK, Action.SKIP)]
    failing = _failing(plan, manifests)
    healths = await live_health(
        kube=as_app or kube,
        refs=[(o.ref, o.api_version) for o in tracked] + [(r, v) for r, v, _ in failing],
    )
    objects = [
        ObjectStatus(
            object=str(o.ref),
            sync=SyncState.OUT_OF_SYNC if o.action.changes else SyncState.SYNCED,
            health=healths[o.ref],
            action=o.action.value,
            reason=o.reason or _unhealthy(healths[o.ref]),
        )
        for o in tracked
    ]
    objects.extend(
        ObjectStatus(
            object=str(ref),
            sync=SyncState.UNKNOWN,
            health=healths[ref],
            action="error",
            reason=message,
        )
        for ref, _, message in failing
    )
    objects.sort(key=lambda o: o.object)
    records = (await apprecords.load(kube, app.id.key)).history
    state = (
        SyncState.UNKNOWN
        if plan.errors
        else (SyncState.SYNCED if plan.in_sync else SyncState.OUT_OF_SYNC)
    )
    applied = [healths[o.ref] for o in tracked if o.action is not Action.PRUNE]
    applied.extend(healths[ref] for ref, _, _ in failing)
    health = None if plan.errors and not plan.installed else aggregate(applied)
    last = records[0] if records else None
    return AppStatus(
        app=app.name,
        sync=state,
        health=health,
        revision=revision.sha,
        last_synced_revision=last.revision if last else "",
        last_synced_at=last.started_at if last else "",
        objects=tuple(objects),
        errors=tuple(str(e) for e in plan.errors),
        inventory_rebuilt=plan.rebuilt,
        reason=_reason(plan, health, objects, last),
        last_sync_result=last.result if last else None,
        charts=charts,
    )


def _failing(plan: Plan, manifests: tuple[Manifest, ...]) -> list[tuple[ObjectRef, str, str]]:
    """(object, apiVersion, message) of each plan error about one rendered object."""
    versions: dict[tuple[str, str, str], str] = {}
    for m in manifests:
        r = m.ref
        versions.setdefault((r.group, r.kind, r.name), m.api_version)
    out: list[tuple[ObjectRef, str, str]] = []
    seen: set[ObjectRef] = set()
    for e in plan.errors:
        if e.ref is None or e.ref in seen:
            continue
        version = versions.get((e.ref.group, e.ref.kind, e.ref.name))
        if version is not None:
            seen.add(e.ref)
            out.append((e.ref, version, e.message))
    return out


def _unhealthy(health: Health) -> str:
    if health.status is HealthStatus.HEALTHY:
        return ""
    return health.message or health.status.value


def _reason(
    plan: Plan, health: Health | None, objects: list[ObjectStatus], last: SyncRecord | None
) -> str:
    """The first thing a reader must know: a plan error, a failed last sync, an unhealthy
    object, or what is out of sync."""
    if plan.errors:
        return str(PlanInvalid(plan.app, plan.errors)).removesuffix("; nothing was applied")
    if last is not None and last.result is not SyncOutcome.SUCCEEDED and last.message:
        return f"last sync {last.result.value}: {last.message}"
    if health is not None and health.status is not HealthStatus.HEALTHY:
        worst = max(
            (o for o in objects if o.action != Action.PRUNE.value),
            key=lambda o: o.health.status,
            default=None,
        )
        if worst is not None:
            return f"{worst.object}: {worst.health.status.value}: {worst.reason}".rstrip(": ")
    changes = [o for o in objects if o.sync is SyncState.OUT_OF_SYNC]
    if changes:
        more = f" and {len(changes) - 1} more" if len(changes) > 1 else ""
        return f"{changes[0].object} would be {changes[0].action}d{more}"
    return ""
