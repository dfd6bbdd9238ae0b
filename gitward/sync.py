"""One sync of one app: plan, apply, prune, record, and optionally wait for health.

This is the seam the CLI and the controller share. It never prints; it returns
a :class:`SyncResult` or raises a :class:`~gitward.errors.GitwardError`.

Crash safety: before the first write, the inventory is widened to the union of
what was applied before and what is about to be applied. A sync killed at any
point therefore leaves every object it may have created in some inventory, and
the next sync adopts or prunes it: no orphans, and server-side apply by name
makes duplicates impossible.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gitward.apply.applier import ApplyFailed, ApplyOptions, apply_plan
from gitward.apply.changes import Change, ChangeSet, Outcome
from gitward.apply.hooks import HookFailed
from gitward.config.apps import AppSpec
from gitward.config.tenancy import Policy
from gitward.errors import GitwardError, PlanError
from gitward.health import Health, HealthStatus, aggregate, assess
from gitward.kube import Forbidden, Kube
from gitward.objects import Body, Manifest, ObjectRef
from gitward.plan.inventory import Inventory, InventoryEntry, fields_hash, values_hash
from gitward.plan.model import Action, ObjectError, Plan
from gitward.plan.planner import build_plan
from gitward.record import history, inventory
from gitward.record.history import ObjectAction, SyncRecord


@dataclass(frozen=True)
class RevisionInfo:
    """Which commit is being synced; empty fields when syncing a plain directory."""

    sha: str = ""
    ref: str = ""
    author: str = ""
    subject: str = ""


@dataclass(frozen=True)
class SyncOptions:
    dry_run: bool = False
    wait: bool = False
    timeout: float = 300.0
    # Git wins for the fields git sets, as in Flux's and Argo CD's server-side apply.
    force_conflicts: bool = True
    concurrency: int = 16
    history_limit: int = history.DEFAULT_LIMIT
    adopt: bool = False  # take the app over from the source its records name
    policy: Policy | None = None  # the operator's allow-list (gitward.config.tenancy)


@dataclass(frozen=True)
class SyncResult:
    app: str
    revision: RevisionInfo
    plan: Plan
    changes: ChangeSet | None = None
    health: Health | None = None
    duration_seconds: float = 0.0
    recorded: bool = False
    inventory: Inventory | None = None  # as the sync left it in the cluster

    @property
    def succeeded(self) -> bool:
        if self.changes is not None and self.changes.failed:
            return False
        return self.health is None or self.health.status is HealthStatus.HEALTHY


class PlanInvalid(PlanError):
    """The plan has errors; ``errors`` lists every one. Nothing was applied."""

    def __init__(self, app: str, errors: tuple[ObjectError, ...]):
        first = str(errors[0])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # An app-level error already starts with "app X:".
        prefix = "" if first.startswith(f"app {app}:") else f"app {app}: "
        super().__init__(f"{prefix}{first}{more}; nothing was applied")
        self.errors = errors


class RecordsOwnedElsewhere(PlanError):
    """The app's records name another source; nothing was applied."""


class HealthTimeout(GitwardError):
    def __init__(self, message: str, health: Health):
        super().__init__(message)
        self.health = health


async def plan_app(
    *,
    kube: Kube,
    app: AppSpec,
    manifests: tuple[Manifest, ...],
    options: SyncOptions,
    diffs: bool = True,
    as_app: Kube | None = None,
) -> tuple[Plan, Inventory | None]:
    """``as_app``: the client the app's reads and dry-runs go through (it may impersonate
    the app's ServiceAccount, see :mod:`gitward.tenancy`); records always use ``kube``."""
    ident = app.id
    inv = await inventory.load(kube, ident.key)
    if inv is not None and inv.source and inv.source != ident.source and not options.adopt:
        raise RecordsOwnedElsewhere(
            f"app {ident.key}: its records (ConfigMap {inventory.where(ident.key)}) belong to "
            f"source {inv.source}; this sync is from {ident.source or '(unknown source)'}. "
            "Nothing was applied. To hand the app over to this source, sync with --adopt; "
            "to keep both, rename one app or give one repository an environment"
        )
    plan = await build_plan(
        kube=as_app or kube,
        app=app,
        manifests=manifests,
        inventory=inv,
        force_conflicts=options.force_conflicts,
        concurrency=options.concurrency,
        diffs=diffs,
        adopt=options.adopt,
        policy=options.policy,
    )
    return plan, inv


async def sync_app(
    *,
    kube: Kube,
    app: AppSpec,
    manifests: tuple[Manifest, ...],
    revision: RevisionInfo,
    charts: tuple[str, ...] = (),
    options: SyncOptions = SyncOptions(),
    as_app: Kube | None = None,
    on_wait_progress: Callable[[tuple[tuple[ObjectRef, Health], ...]], None] | None = None,
) -> SyncResult:
    """``as_app``: the client plan, apply, prune and health go through (it may impersonate
    the app's ServiceAccount); inventory and history are always kept through ``kube``."""
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    plan, old_inv = await plan_app(
        kube=kube,
        app=app,
        manifests=manifests,
        options=options,
        diffs=options.dry_run,
        as_app=as_app,
    )
    if plan.errors:
        raise PlanInvalid(app.name, plan.errors)
    result = SyncResult(app=app.name, revision=revision, plan=plan, inventory=old_inv)
    # Both records must decode before the first write: a corrupt one fails the
    # sync (and its dry run) here, with nothing applied, rather than after the apply.
    last = await history.load(kube, app.id.key)
    plan = replace(plan, installed=_installed(plan, last))
    result = replace(result, plan=plan)
    if options.dry_run:
        return replace(result, duration_seconds=time.monotonic() - started)

    desired = [o for o in plan.objects if o.action not in (Action.PRUNE, Action.SKIP, Action.HOOK)]
    desired = [o for o in desired if o.source != "(createNamespace)"]
    ident = app.id
    old_entries = old_inv.by_ref() if old_inv else {}
    new_refs = [o for o in desired if o.ref not in old_entries]
    if new_refs or (old_inv is not None and old_inv.source != ident.source):
        pending = Inventory(
            app=ident.key,
            source=ident.source,
            prune=app.prune,
            revision=old_inv.revision if old_inv else "",
            entries=(
                *(old_inv.entries if old_inv else ()),
                *(InventoryEntry.of(o.ref, o.api_version) for o in new_refs),
            ),
        )
        await inventory.save(kube, pending)

    error: GitwardError | None = None
    applied: dict[ObjectRef, Body] = {}
    try:
        changes, applied = await apply_plan(
            kube=as_app or kube,
            plan=plan,
            options=ApplyOptions(
                force_conflicts=options.force_conflicts,
                concurrency=options.concurrency,
                timeout=options.timeout,
            ),
        )
    except (ApplyFailed, HookFailed) as e:
        error = e
        changes = ChangeSet((Change(ObjectRef("", "", "", app.name), Outcome.FAILED, str(e)),))

    entries: list[InventoryEntry] = []
    for o in desired:
        body = applied.get(o.ref) or o.live
        if body is None:
            if error is not None:
                entries.append(old_entries.get(o.ref) or InventoryEntry.of(o.ref, o.api_version))
            continue
        entries.append(
            InventoryEntry.of(
                o.ref,
                o.api_version,
                uid=str(body["metadata"].get("uid", "")),
                desired=o.desired_hash if o.ref in applied or o.action is Action.UNCHANGED else "",
                fields=fields_hash(body, o.ignore, ident.field_manager),
                values=values_hash(body, o.ignore, ident.field_manager),
            )
        )
    if error is not None:
        # Keep what was not pruned yet: the next sync must still be able to prune it.
        kept = {e.ref for e in entries}
        entries.extend(e for ref, e in old_entries.items() if ref not in kept)
    new_inv = Inventory(
        app=ident.key,
        source=ident.source,
        prune=app.prune,
        revision=revision.sha,
        entries=tuple(entries),
    )
    await inventory.save(kube, new_inv)

    recorded = False
    if changes.wrote or error is not None or not last or last[0].revision != revision.sha:
        await history.append(
            kube,
            _record(app, revision, charts, changes, started_at, time.monotonic() - started, error),
            limit=options.history_limit,
            previous=last,
        )
        recorded = True
    result = replace(result, changes=changes, recorded=recorded, inventory=new_inv)
    if error is not None:
        raise error
    if options.wait:
        health = await wait_healthy(
            kube=as_app or kube, plan=plan, timeout=options.timeout, on_progress=on_wait_progress
        )
        result = replace(result, health=health)
    return replace(result, duration_seconds=time.monotonic() - started)


def _installed(plan: Plan, last: list[SyncRecord]) -> bool:
    """Whether install hooks are behind this app: it has synced successfully.

    A failed first sync leaves the app uninstalled, so its retry still runs
    ``pre-install``. Without any history (records from before it was kept, or
    one deleted by hand) objects of the app in the cluster mean it is
    installed: running install hooks again on a live app is the worse mistake.
    """
    if last:
        return any(r.result == "succeeded" for r in last)
    return plan.installed


def _record(
    app: AppSpec,
    revision: RevisionInfo,
    charts: tuple[str, ...],
    changes: ChangeSet,
    started_at: str,
    duration: float,
    error: GitwardError | None,
) -> SyncRecord:
    counts: dict[str, int] = {}
    for c in changes.changes:
        counts[c.outcome.value] = counts.get(c.outcome.value, 0) + 1
    return SyncRecord(
        app=app.id.key,
        revision=revision.sha,
        ref=revision.ref,
        author=revision.author,
        subject=revision.subject,
        started_at=started_at,
        duration_seconds=round(duration, 3),
        result="failed" if error else "succeeded",
        message=str(error) if error else "",
        charts=charts,
        counts=counts,
        actions=tuple(
            ObjectAction(object=str(c.ref), outcome=c.outcome.value, message=c.message)
            for c in changes.changes
            if c.outcome not in (Outcome.UNCHANGED, Outcome.SKIPPED)
        ),
    )


async def live_health(*, kube: Kube, refs: list[tuple[ObjectRef, str]]) -> dict[ObjectRef, Health]:
    """Health of each (ref, apiVersion), read live."""

    async def one(ref: ObjectRef, api_version: str) -> Health:
        res = await kube.resource_for(api_version, ref.kind)
        try:
            body = (
                None if res is None else await kube.get(res, name=ref.name, namespace=ref.namespace)
            )
        except Forbidden as e:
            # The app's account may not read it: say so rather than guess.
            return Health.unknown(str(e).split(": ", 1)[-1])
        if body is not None:
            body.setdefault("apiVersion", api_version)
            body.setdefault("kind", ref.kind)
        return assess(body)

    healths = await asyncio.gather(*(one(r, v) for r, v in refs))
    return dict(zip((r for r, _ in refs), healths, strict=True))


async def wait_healthy(
    *,
    kube: Kube,
    plan: Plan,
    timeout: float,
    on_progress: Callable[[tuple[tuple[ObjectRef, Health], ...]], None] | None = None,
) -> Health:
    """Poll until every applied object is Healthy; fail fast on Degraded.

    ``on_progress`` gets the objects not Healthy yet after every poll; a failure
    names every one of them with its reason, not just the worst.
    """
    refs = [
        (o.ref, o.api_version)
        for o in plan.objects
        if o.action not in (Action.PRUNE, Action.SKIP, Action.HOOK)
    ]
    deadline = time.monotonic() + timeout
    while True:
        per_object = await live_health(kube=kube, refs=refs)
        worst = aggregate(per_object.values())
        if worst.status is HealthStatus.HEALTHY:
            return worst
        by_name = sorted(
            ((r, h) for r, h in per_object.items() if h.status is not HealthStatus.HEALTHY),
            key=lambda rh: rh[0],
        )
        # Worst first; sorted() is stable, so objects of one status stay by name.
        waiting = tuple(sorted(by_name, key=lambda rh: rh[1].status, reverse=True))
        if on_progress is not None:
            on_progress(waiting)
        if worst.status is HealthStatus.DEGRADED:
            raise HealthTimeout(_unhealthy("Degraded", waiting), worst)
        if time.monotonic() > deadline:
            raise HealthTimeout(_unhealthy(f"not Healthy after {timeout:.0f}s", waiting), worst)
        await asyncio.sleep(0.5)


def _unhealthy(what: str, waiting: tuple[tuple[ObjectRef, Health], ...]) -> str:
    shown = "; ".join(
        f"{ref}: {h.status.value}" + (f": {h.message}" if h.message else "") for ref, h in waiting
    )
    return f"{what}: {shown}"


__all__ = [
    "HealthTimeout",
    "PlanInvalid",
    "RecordsOwnedElsewhere",
    "RevisionInfo",
    "SyncOptions",
    "SyncResult",
    "plan_app",
    "sync_app",
    "wait_healthy",
]
