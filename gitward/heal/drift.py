"""Is this watch event drift? Judged from the object alone, against its fingerprints.

Two fingerprints from the engine's inventory make the judgement exact and
cheap: the fields the app's field manager holds, and their values. An event
whose field set and values still hash the same is not drift, whatever else
changed (status, an extra label, fields an app ignores).
"""

from __future__ import annotations

from dataclasses import dataclass

from gitward.heal.keeping import shared_fields
from gitward.heal.state import Tracked
from gitward.objects import Body
from gitward.plan.fieldsets import actor_of, dotted, gitward_fields, lost_paths
from gitward.plan.inventory import fields_hash, values_hash
from gitward.record.drifts import DriftKind


@dataclass(frozen=True)
class Verdict:
    kind: DriftKind
    fields: tuple[str, ...]
    actor: str


def fingerprint(t: Tracked, body: Body) -> None:
    """Remember what ``body`` looks like now, as the state drift is judged against."""
    t.uid = str((body.get("metadata") or {}).get("uid", ""))
    t.fields_hash = fields_hash(body, t.ignore, t.manager)
    t.values_hash = values_hash(body, t.ignore, t.manager)
    t.fields = shared_fields(gitward_fields(body, t.manager))


def judge(t: Tracked, kind: str, body: Body) -> Verdict | None:
    """The drift a watch event of ``kind`` shows, or ``None`` when it shows none.

    An object not fingerprinted yet (created by a sync killed before it recorded
    it, say) is fingerprinted instead.
    """
    uid = str((body.get("metadata") or {}).get("uid", ""))
    if kind == "DELETED":
        if uid and t.uid and uid != t.uid:
            return None  # an older object of the same name went away
        return Verdict(DriftKind.DELETED, ("(object)",), "unknown")
    if not t.uid:
        fingerprint(t, body)
        return None
    if uid != t.uid:
        return Verdict(DriftKind.REPLACED, ("(object)",), actor_of(body, [], t.manager))
    current = gitward_fields(body, t.manager)
    same_fields = fields_hash(body, t.ignore, t.manager) == t.fields_hash
    if same_fields and values_hash(body, t.ignore, t.manager) == t.values_hash:
        t.fields = shared_fields(current)
        return None
    lost = lost_paths(t.fields, current) if t.fields else []
    if same_fields:
        # Our fields, other values: someone wrote under our own manager's name.
        return Verdict(
            DriftKind.MODIFIED,
            ("(values of managed fields)",),
            f"{t.manager} (another writer using this app's field manager)",
        )
    shown = tuple(dotted(p) for p in lost) or ("(managed fields)",)
    return Verdict(DriftKind.MODIFIED, shown, actor_of(body, lost, t.manager))
