"""Planning one object: proven unchanged by the inventory, or dry-run and compared.

Every object that may have changed is server-side applied with ``dryRun=All``
and compared with the live object, so defaulting, admission and other
managers' fields appear on both sides.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from gitward.config.apps import AppSpec
from gitward.config.identity import (
    SHARED_FIELD_MANAGER,
)
from gitward.kube import Conflict, Invalid, Kube, KubeError, without_subject
from gitward.objects import Body
from gitward.plan import normalize, pointers
from gitward.plan.annotations import (
    GITWARD_RECREATE,
)
from gitward.plan.diff import masked_diff
from gitward.plan.fieldsets import taken_back
from gitward.plan.inventory import (
    desired_hash,
    fields_hash,
    managed_fields,
    values_hash,
)
from gitward.plan.model import (
    Action,
    ObjectError,
    PlannedObject,
)
from gitward.plan.ownership import ownership_error
from gitward.plan.preparing import Prepared
from gitward.plan.schemas import SchemaCheck

# Objects in a namespace that does not exist yet are validated here instead.
STAND_IN_NAMESPACE = "default"


def with_live_ignored(desired: Body, live: Body | None, ignore: tuple[str, ...]) -> Body:
    """``desired`` with ignored fields set to their live values.

    Leaving an ignored field out of the apply would make the API server remove
    a field gitward co-owns (``spec.replicas`` back to 1 under an HPA); keeping
    the live value means apply never changes it, yet it is still set on create.
    """
    if live is None or not ignore:
        return desired
    out = copy.deepcopy(desired)
    for pointer in ignore:
        value = pointers.get(live, pointer)
        if value is None:
            pointers.remove(out, pointer)
        else:
            pointers.put(out, pointer, value)
    return out


async def plan_object(
    *,
    kube: Kube,
    app: AppSpec,
    p: Prepared,
    live: Body | None,
    entry_hash: tuple[str, str, str, str] | None,
    namespaces: set[str],
    force: bool,
    diffs: bool,
    adopt: bool,
    schema: SchemaCheck | None = None,
) -> PlannedObject | ObjectError:
    """``schema``: check ``p`` against it instead of a dry-run, should it be new
    (see :mod:`gitward.plan.prechecks`)."""
    ref, m = p.ref, p.manifest
    ident = app.id
    manager = ident.field_manager
    ignore = pointers.ignored_pointers(app.ignore, ref)
    base = PlannedObject(
        ref=ref,
        api_version=m.api_version,
        action=Action.UNCHANGED,
        source=m.source,
        sort_key=p.key,
        desired_hash=desired_hash(p.body, ignore),
        ignore=ignore,
    )
    if p.is_hook:
        return replace(base, action=Action.HOOK, desired=p.body)
    desired = with_live_ignored(p.body, live, ignore)
    base = replace(base, desired=desired, live=live)
    # Fields still held by the manager all apps shared before each had its own.
    shared = live is not None and bool(managed_fields(live, SHARED_FIELD_MANAGER))

    if live is not None and entry_hash is not None and not shared:
        want_hash, uid, fields, values = entry_hash
        live_uid = (live.get("metadata") or {}).get("uid")
        if (
            want_hash == base.desired_hash
            and uid == live_uid
            and fields
            and values
            and fields_hash(live, ignore, manager) == fields
            and values_hash(live, ignore, manager) == values
        ):
            return base

    if live is not None:
        refused = ownership_error(ident, live, adopt=adopt)
        if refused:
            return ObjectError(ref, m.source, refused, ownership=True)

    if p.resource is None:
        # Its CRD is applied earlier in this sync; the server cannot validate it yet.
        return replace(
            base,
            action=Action.CREATE,
            diff=masked_diff(None, desired, ignore, ref) if diffs else "",
            reason="validated after its CustomResourceDefinition is established",
        )

    if live is None and schema is not None:
        problems = schema.problems(desired)
        if problems:
            return ObjectError(
                ref, m.source, f"does not match the API server's schema of {ref.kind}: {problems}"
            )
        return replace(
            base,
            action=Action.CREATE,
            diff=masked_diff(None, desired, ignore, ref) if diffs else "",
            schema_only=True,
        )

    probe = desired
    if ref.namespace and ref.namespace not in namespaces:
        probe = copy.deepcopy(desired)
        probe["metadata"]["namespace"] = STAND_IN_NAMESPACE
    try:
        dry = await kube.apply(probe, dry_run=True, force=force or shared, field_manager=manager)
    except Conflict as e:
        fields_in_conflict = ", ".join(
            sorted({str(c.get("field", "")) for c in e.details.get("causes", [])})
        )
        return ObjectError(
            ref,
            m.source,
            f"conflicts with another field manager on {fields_in_conflict or 'some fields'}; "
            "sync without --no-force-conflicts to let git win, or drop the fields: "
            + without_subject(e),
        )
    except Invalid as e:
        message = without_subject(e)
        if immutable_refusal(message) and live is not None:
            if p.directives.options.recreate:
                return replace(
                    base,
                    action=Action.RECREATE,
                    diff=masked_diff(live, desired, ignore, ref) if diffs else "",
                    reason="immutable field changed",
                )
            message += f"; annotate it {GITWARD_RECREATE}: 'true' to delete and recreate it"
        return ObjectError(ref, m.source, message)
    except KubeError as e:
        return ObjectError(ref, m.source, without_subject(e))

    if probe is not desired:
        dry["metadata"]["namespace"] = ref.namespace
    if live is not None and normalize.normalize(dry, ignore=ignore) == normalize.normalize(
        live, ignore=ignore
    ):
        if not shared:
            return base
        # Same values, but held by the shared manager: write once to move them
        # to this app's own manager, so other writers show up as themselves.
        return replace(base, action=Action.UPDATE, reason=f"moves to field manager {manager}")
    return replace(
        base,
        action=Action.CREATE if live is None else Action.UPDATE,
        diff=masked_diff(live, dry, ignore, ref) if diffs else "",
        reason=taken_back_reason(live, dry, manager) if live is not None else "",
    )


def taken_back_reason(live: Body, dry: Body, manager: str) -> str:
    """Which fields git takes back from which other writer (a hand edit, say)."""
    taken = taken_back(live, dry, manager)
    return "; ".join(
        f"takes {', '.join(fields[:5])}{' …' if len(fields) > 5 else ''} back from {who}"
        for who, fields in sorted(taken.items())
    )


def immutable_refusal(message: str) -> bool:
    """The server refused a change to a field that cannot change in place."""
    return "immutable" in message or (
        # A StatefulSet says so in its own words.
        "updates to statefulset spec for fields other than" in message
    )
