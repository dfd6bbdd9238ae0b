"""Every sync attempt in the app's history, once: what it did and how it ended."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from gitward.apply.changes import ChangeSet, Outcome
from gitward.config.apps import AppSpec
from gitward.errors import GitwardError
from gitward.kube import Kube
from gitward.plan.model import Plan
from gitward.reconcile.results import SyncOptions, SyncResult, exit_code_of
from gitward.record import apprecords, history
from gitward.record.history import ObjectAction, SyncOutcome, SyncRecord
from gitward.record.snapshot import RecordSnapshot
from gitward.source.revisions import Revision


async def record_unrendered(
    *,
    kube: Kube,
    app: AppSpec,
    revision: Revision,
    error: GitwardError,
    options: SyncOptions = SyncOptions(),
    records: RecordSnapshot | None = None,
) -> bool:
    """Record a sync attempt that failed before it could plan: the app did not render.

    Nothing is written when the app's records belong to another source (they are
    not this sync's to write) or the same failure is already the newest record.
    Returns whether a record was written.
    """
    started, started_at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")
    stored = await apprecords.load(kube, app.id.key, snapshot=records)
    inv = stored.inventory
    if inv is not None and inv.source and inv.source != app.id.source and not options.adopt:
        return False
    reason = str(error)
    result = SyncResult(
        app=app.name,
        revision=revision,
        plan=Plan(app=app.name, objects=()),
        outcome=SyncOutcome.FAILED,
        reason=reason if reason.startswith(f"app {app.name}") else f"app {app.name}: {reason}",
        exit_code=exit_code_of(error),
    )
    done, kept = recorded(app, result, (), started_at, started, stored.history, options)
    if done.recorded:
        await apprecords.save(kube, replace(stored, history=kept), stored=stored)
    return done.recorded


def recorded(
    app: AppSpec,
    result: SyncResult,
    charts: tuple[str, ...],
    started_at: str,
    started: float,
    last: tuple[SyncRecord, ...],
    options: SyncOptions,
) -> tuple[SyncResult, tuple[SyncRecord, ...]]:
    """``result`` as recorded, and the history with it: ``last`` itself when the sync
    wrote nothing and ended as the newest record already says (a no-op, or the same
    failure polled again)."""
    record = _record(app, result, charts, started_at, time.monotonic() - started)
    wrote = result.changes is not None and result.changes.wrote
    if not wrote and last and last[0].repeats(record):
        return replace(result, recorded_at=last[0].started_at), last
    kept = history.kept([record, *last], limit=options.history_limit)
    return replace(result, recorded=True, recorded_at=started_at), tuple(kept)


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
