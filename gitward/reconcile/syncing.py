"""One sync of one app: plan, apply, prune, record, and optionally wait for health.

Crash safety: before the first write, the inventory is widened to the union of
what was applied before and what is about to be applied. A sync killed at any
point therefore leaves every object it may have created in some inventory, and
the next sync adopts or prunes it: no orphans, and server-side apply by name
makes duplicates impossible.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from gitward.apply.applier import ApplyOptions, apply_plan
from gitward.apply.changes import Change, ChangeSet, Outcome
from gitward.apply.provisional import Refused, create_first
from gitward.config.apps import AppSpec
from gitward.errors import ExitCode
from gitward.health import Health
from gitward.health.waiting import HealthTimeout, wait_healthy
from gitward.kube import Kube
from gitward.objects import Body, Manifest, ObjectRef
from gitward.plan.inventory import Inventory, InventoryEntry, fields_hash, values_hash
from gitward.plan.model import Action, Plan
from gitward.plan.planner import build_plan
from gitward.reconcile.recording import recorded
from gitward.reconcile.results import (
    PlanInvalid,
    RecordsOwnedElsewhere,
    SyncOptions,
    SyncResult,
    failure_reason,
)
from gitward.record import apprecords
from gitward.record.apprecords import AppRecords
from gitward.record.history import SyncOutcome, SyncRecord
from gitward.record.snapshot import RecordSnapshot
from gitward.source.revisions import Revision


async def plan_app(
    *,
    kube: Kube,
    app: AppSpec,
    manifests: tuple[Manifest, ...],
    options: SyncOptions,
    diffs: bool = True,
    as_app: Kube | None = None,
    known_namespaces: Mapping[str, bool] | None = None,
    records: RecordSnapshot | None = None,
) -> tuple[Plan, Inventory | None]:
    """``as_app``: the client the app's reads and dry-runs go through (it may impersonate
    the app's ServiceAccount, see :mod:`gitward.tenancy`); records always use ``kube``.
    ``known_namespaces``: see :func:`~gitward.plan.planner.build_plan`; ``records``:
    the records namespace listed for many syncs (:mod:`gitward.record.snapshot`)."""
    stored = await apprecords.load(kube, app.id.key, snapshot=records)
    plan = await _plan(
        kube=as_app or kube,
        app=app,
        manifests=manifests,
        stored=stored,
        options=options,
        diffs=diffs,
        known_namespaces=known_namespaces,
    )
    return plan, stored.inventory


async def _plan(
    *,
    kube: Kube,
    app: AppSpec,
    manifests: tuple[Manifest, ...],
    stored: AppRecords,
    options: SyncOptions,
    diffs: bool,
    known_namespaces: Mapping[str, bool] | None,
) -> Plan:
    ident = app.id
    inv = stored.inventory
    if inv is not None and inv.source and inv.source != ident.source and not options.adopt:
        raise RecordsOwnedElsewhere(
            f"app {ident.key}: its records (ConfigMap {stored.location}) belong to "
            f"source {inv.source}; this sync is from {ident.source or '(unknown source)'}. "
            "Nothing was applied. To hand the app over to this source, sync with --adopt; "
            "to keep both, rename one app or give one repository an environment"
        )
    return await build_plan(
        kube=kube,
        app=app,
        manifests=manifests,
        inventory=inv,
        force_conflicts=options.force_conflicts,
        concurrency=options.concurrency,
        diffs=diffs,
        adopt=options.adopt,
        policy=options.policy,
        allow_crd_prune=options.allow_crd_prune,
        known_namespaces=known_namespaces,
    )


async def sync_app(
    *,
    kube: Kube,
    app: AppSpec,
    manifests: tuple[Manifest, ...],
    revision: Revision,
    charts: tuple[str, ...] = (),
    options: SyncOptions = SyncOptions(),
    as_app: Kube | None = None,
    on_wait_progress: Callable[[tuple[tuple[ObjectRef, Health], ...]], None] | None = None,
    known_namespaces: Mapping[str, bool] | None = None,
    records: RecordSnapshot | None = None,
) -> SyncResult:
    """``as_app``: the client plan, apply, prune and health go through (it may impersonate
    the app's ServiceAccount); inventory and history are always kept through ``kube``."""
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    # Both halves of the record decode before the first write: a corrupt one fails
    # the sync (and its dry run) here, with nothing applied, rather than after the apply.
    stored = await apprecords.load(kube, app.id.key, snapshot=records)
    old_inv, last = stored.inventory, stored.history
    plan = await _plan(
        kube=as_app or kube,
        app=app,
        manifests=manifests,
        stored=stored,
        options=options,
        diffs=options.dry_run,
        known_namespaces=known_namespaces,
    )
    plan = replace(plan, installed=_installed(plan, last))
    result = SyncResult(app=app.name, revision=revision, plan=plan, inventory=old_inv)
    if plan.errors:
        result = replace(
            result,
            outcome=SyncOutcome.FAILED,
            reason=str(PlanInvalid(app.name, plan.errors)),
            exit_code=ExitCode.INPUT,
        )
    if options.dry_run or plan.errors:
        if not options.dry_run:
            # Nothing was applied: an empty change set, and a dry run's ``None`` stays its own.
            result = replace(result, changes=ChangeSet(()))
            result, kept = recorded(app, result, charts, started_at, started, last, options)
            await apprecords.save(kube, replace(stored, history=kept), stored=stored)
        return replace(result, duration_seconds=time.monotonic() - started)

    desired = plan.managed()
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
        stored = await apprecords.save(kube, replace(stored, inventory=pending), stored=stored)

    first = await create_first(
        kube=as_app or kube,
        plan=plan,
        concurrency=options.concurrency,
        force_conflicts=options.force_conflicts,
        timeout=options.timeout,
    )
    if isinstance(first, Refused) and first.undone:
        # As if a dry-run had refused them: nothing is left of this sync but its record.
        plan = replace(plan, errors=first.errors)
        result = replace(
            result,
            plan=plan,
            changes=ChangeSet(()),
            outcome=SyncOutcome.FAILED,
            reason=str(PlanInvalid(app.name, first.errors)),
            exit_code=ExitCode.INPUT,
        )
        result, kept = recorded(app, result, charts, started_at, started, last, options)
        undone = replace(stored, inventory=old_inv, history=kept)
        await apprecords.save(kube, undone, stored=stored)
        return replace(result, duration_seconds=time.monotonic() - started)
    if isinstance(first, Refused):
        changes = ChangeSet(
            (
                *first.left,
                *(Change(e.ref, Outcome.FAILED, e.message) for e in first.errors if e.ref),
            )
        )
        applied: dict[ObjectRef, Body] = {}
    else:
        changes, applied = await apply_plan(
            kube=as_app or kube,
            plan=plan,
            options=ApplyOptions(
                force_conflicts=options.force_conflicts,
                concurrency=options.concurrency,
                timeout=options.timeout,
            ),
            done=first.done,
        )
    failed = bool(changes.failed)

    entries: list[InventoryEntry] = []
    for o in desired:
        body = applied.get(o.ref) or o.live
        if body is None:
            if failed:
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
    if failed:
        # Keep what was not pruned yet: the next sync must still be able to prune it.
        kept_refs = {e.ref for e in entries}
        entries.extend(e for ref, e in old_entries.items() if ref not in kept_refs)
    new_inv = Inventory(
        app=ident.key,
        source=ident.source,
        prune=app.prune,
        revision=revision.sha,
        entries=tuple(entries),
    )
    result = replace(result, changes=changes, inventory=new_inv)
    if failed:
        result = replace(
            result,
            outcome=SyncOutcome.FAILED,
            reason=failure_reason(app.name, changes.failed),
            exit_code=ExitCode.CLUSTER,
        )
    if failed or not options.wait:
        # Nothing is left to learn before the record: the inventory and the
        # history go out in one write.
        result, kept = recorded(app, result, charts, started_at, started, last, options)
        await apprecords.save(kube, replace(stored, inventory=new_inv, history=kept), stored=stored)
        return replace(result, duration_seconds=time.monotonic() - started)

    # Saved before the wait, which may take minutes: a sync killed while waiting
    # leaves what it applied recorded with its uids and fingerprints, not only
    # the pending inventory's names.
    stored = await apprecords.save(kube, replace(stored, inventory=new_inv), stored=stored)
    try:
        health = await wait_healthy(
            kube=as_app or kube,
            refs=[(o.ref, o.api_version) for o in plan.to_apply()],
            timeout=options.timeout,
            on_progress=on_wait_progress,
        )
        result = replace(result, health=health)
    except HealthTimeout as e:
        result = replace(
            result,
            health=e.health,
            outcome=SyncOutcome.TIMED_OUT if e.timed_out else SyncOutcome.DEGRADED,
            reason=f"app {app.name}: {e}",
            exit_code=ExitCode.HEALTH,
        )
    result, kept = recorded(app, result, charts, started_at, started, last, options)
    await apprecords.save(kube, replace(stored, history=kept), stored=stored)
    return replace(result, duration_seconds=time.monotonic() - started)


def _installed(plan: Plan, last: tuple[SyncRecord, ...]) -> bool:
    """Whether install hooks are behind this app: it has synced successfully.

    A failed first sync leaves the app uninstalled, so its retry still runs
    ``pre-install``. Without any history (records from before it was kept, or
    one deleted by hand) objects of the app in the cluster mean it is
    installed: running install hooks again on a live app is the worse mistake.
    """
    if last:
        return any(r.result is SyncOutcome.SUCCEEDED for r in last)
    return plan.installed
