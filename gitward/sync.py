"""One sync of one app: plan, apply, prune, record, and optionally wait for health.

This is the seam the CLI and the controller share. It never prints. A sync
that fails (an invalid plan, a change the cluster refused, a hook that failed,
health that did not come) is a result, not an exception: :class:`SyncResult`
holds the real per-object outcomes, the outcome, its reason and the exit code
it implies, and the history records the same. It raises a
:class:`~gitward.errors.GitwardError` only when it cannot tell or record what
happened: the API server is unreachable, a record is corrupt or names another
source.

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

from gitward.apply.applier import ApplyOptions, apply_plan
from gitward.apply.changes import Change, ChangeSet, Outcome
from gitward.config.apps import AppSpec
from gitward.config.tenancy import Policy
from gitward.errors import ExitCode, GitwardError, PlanError
from gitward.health import Health, HealthStatus, aggregate, assess
from gitward.kube import Forbidden, Kube, KubeError
from gitward.objects import Manifest, ObjectRef
from gitward.plan.inventory import Inventory, InventoryEntry, fields_hash, values_hash
from gitward.plan.model import Action, ObjectError, Plan
from gitward.plan.planner import build_plan
from gitward.record import history, inventory
from gitward.record.history import ObjectAction, SyncOutcome, SyncRecord


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
    # Pruning a CRD deletes every custom resource of its kind: only when asked.
    allow_crd_prune: bool = False


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
    outcome: SyncOutcome = SyncOutcome.SUCCEEDED
    reason: str = ""  # why it did not succeed: one line that starts with the app
    exit_code: ExitCode = ExitCode.OK

    @property
    def succeeded(self) -> bool:
        return self.outcome is SyncOutcome.SUCCEEDED


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
    """``--wait`` ended without every object Healthy: one Degraded, or time ran out."""

    exit_code = ExitCode.HEALTH

    def __init__(self, message: str, health: Health, *, timed_out: bool = False):
        super().__init__(message)
        self.health = health
        self.timed_out = timed_out


def exit_code_of(error: GitwardError) -> ExitCode:
    """The exit code an error implies (README: Exit codes)."""
    if isinstance(error, KubeError):
        return ExitCode.CLUSTER
    return ExitCode(error.exit_code)


def failure_reason(app: str, failed: tuple[Change, ...]) -> str:
    """One line naming the first few failed objects and why."""
    shown = "; ".join(f"{c.ref}: {c.message}" for c in failed[:3])
    more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
    return f"app {app}: {shown}{more}"


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
        allow_crd_prune=options.allow_crd_prune,
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
    result = SyncResult(app=app.name, revision=revision, plan=plan, inventory=old_inv)
    # Both records must decode before the first write: a corrupt one fails the
    # sync (and its dry run) here, with nothing applied, rather than after the apply.
    last = await history.load(kube, app.id.key)
    plan = replace(plan, installed=_installed(plan, last))
    result = replace(result, plan=plan)
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
            result = await _record_once(
                kube, app, result, charts, started_at, started, last, options
            )
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
        await inventory.save(kube, pending)

    changes, applied = await apply_plan(
        kube=as_app or kube,
        plan=plan,
        options=ApplyOptions(
            force_conflicts=options.force_conflicts,
            concurrency=options.concurrency,
            timeout=options.timeout,
        ),
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
    result = replace(result, changes=changes, inventory=new_inv)

    if failed:
        result = replace(
            result,
            outcome=SyncOutcome.FAILED,
            reason=failure_reason(app.name, changes.failed),
            exit_code=ExitCode.CLUSTER,
        )
    elif options.wait:
        try:
            health = await wait_healthy(
                kube=as_app or kube,
                plan=plan,
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
    result = await _record_once(kube, app, result, charts, started_at, started, last, options)
    return replace(result, duration_seconds=time.monotonic() - started)


async def record_unrendered(
    *,
    kube: Kube,
    app: AppSpec,
    revision: RevisionInfo,
    error: GitwardError,
    options: SyncOptions = SyncOptions(),
) -> bool:
    """Record a sync attempt that failed before it could plan: the app did not render.

    Nothing is written when the app's records belong to another source (they are
    not this sync's to write) or the same failure is already the newest record.
    Returns whether a record was written.
    """
    started, started_at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")
    inv = await inventory.load(kube, app.id.key)
    if inv is not None and inv.source and inv.source != app.id.source and not options.adopt:
        return False
    last = await history.load(kube, app.id.key)
    reason = str(error)
    result = SyncResult(
        app=app.name,
        revision=revision,
        plan=Plan(app=app.name, objects=()),
        outcome=SyncOutcome.FAILED,
        reason=reason if reason.startswith(f"app {app.name}") else f"app {app.name}: {reason}",
        exit_code=exit_code_of(error),
    )
    done = await _record_once(kube, app, result, (), started_at, started, last, options)
    return done.recorded


async def _record_once(
    kube: Kube,
    app: AppSpec,
    result: SyncResult,
    charts: tuple[str, ...],
    started_at: str,
    started: float,
    last: list[history.SyncRecord],
    options: SyncOptions,
) -> SyncResult:
    """Append ``result`` to the history, unless it wrote nothing and ended as the
    newest record already says (a no-op, or the same failure polled again)."""
    record = _record(app, result, charts, started_at, time.monotonic() - started)
    wrote = result.changes is not None and result.changes.wrote
    if not wrote and last and last[0].repeats(record):
        return result
    await history.append(kube, record, limit=options.history_limit, previous=last)
    return replace(result, recorded=True)


def _installed(plan: Plan, last: list[SyncRecord]) -> bool:
    """Whether install hooks are behind this app: it has synced successfully.

    A failed first sync leaves the app uninstalled, so its retry still runs
    ``pre-install``. Without any history (records from before it was kept, or
    one deleted by hand) objects of the app in the cluster mean it is
    installed: running install hooks again on a live app is the worse mistake.
    """
    if last:
        return any(r.result is SyncOutcome.SUCCEEDED for r in last)
    return plan.installed


def _record(
    app: AppSpec,
    result: SyncResult,
    charts: tuple[str, ...],
    started_at: str,
    duration: float,
) -> SyncRecord:
    changes = result.changes or ChangeSet(())
    revision = result.revision
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
        result=result.outcome,
        message=result.reason,
        exit_code=int(result.exit_code),
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
    refs = [(o.ref, o.api_version) for o in plan.to_apply()]
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
            raise HealthTimeout(
                _unhealthy(f"not Healthy after {timeout:.0f}s", waiting), worst, timed_out=True
            )
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
    "SyncOutcome",
    "SyncResult",
    "exit_code_of",
    "failure_reason",
    "plan_app",
    "record_unrendered",
    "sync_app",
    "wait_healthy",
]
