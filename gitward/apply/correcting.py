"""Putting one drifted object back as git says: self-heal's write.

A sync writes what its plan says; self-heal writes a single object that
someone changed between syncs, with no plan around it. Both writes live in
this package, so what gitward sends the API server is decided in one place.

The correction reads the live object first, so fields the app ignores
(``ignoreDifferences``: an HPA's replicas, a mutating webhook's additions)
keep their live values, and applies with force: the fields were gitward's,
and taking them back from whoever changed them is the point.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitward.apply.changes import Change, Outcome
from gitward.kube import Kube, KubeError
from gitward.objects import Body, ObjectRef
from gitward.plan.objects import with_live_ignored


@dataclass(frozen=True)
class Correction:
    change: Change
    body: Body | None  # what the API server returned; None when it failed


async def correct_object(
    *,
    kube: Kube,
    ref: ObjectRef,
    api_version: str,
    desired: Body,
    ignore: tuple[str, ...],
    field_manager: str,
) -> Correction:
    """Re-apply ``desired`` over the live object. A refusal is a result, not an exception."""
    try:
        res = await kube.resource_for(api_version, ref.kind)
        live = None
        if res is not None:
            live = await kube.get(res, name=ref.name, namespace=ref.namespace)
        body = await kube.apply(
            with_live_ignored(desired, live, ignore), force=True, field_manager=field_manager
        )
    except KubeError as e:
        return Correction(Change(ref, Outcome.FAILED, str(e)), None)
    return Correction(Change(ref, Outcome.CONFIGURED if live else Outcome.CREATED), body)
