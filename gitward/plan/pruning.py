"""What leaves the cluster: objects of the inventory that left git.

Only objects whose tracking annotation names the app (or, from before the
annotation, that carry its recorded uid and gitward's field manager) are
pruned; a CustomResourceDefinition only when it says so, since pruning it
deletes every custom resource of its kind.
"""

from __future__ import annotations

from dataclasses import replace

from gitward.config.apps import AppSpec
from gitward.kube import Forbidden, Kube, without_subject
from gitward.objects import Body, Manifest, ObjectRef
from gitward.plan.annotations import (
    ARGO_SYNC_OPTIONS,
    GITWARD_PRUNE,
    Directives,
    InvalidAnnotation,
    pruned_how,
)
from gitward.plan.diff import masked_diff
from gitward.plan.inventory import Inventory
from gitward.plan.model import Action, ObjectError, PlannedObject
from gitward.plan.order import SortKey, key_of, sort_key
from gitward.plan.ownership import not_ours


async def plan_prune(
    kube: Kube,
    app: AppSpec,
    inventory: Inventory | None,
    desired: set[ObjectRef],
    errors: list[ObjectError],
    *,
    adopt: bool,
    allow_crd_prune: bool,
) -> list[PlannedObject]:
    if inventory is None:
        return []
    ident = app.id
    out: list[PlannedObject] = []
    for entry in inventory.entries:
        if entry.ref in desired:
            continue
        res = await kube.resource_for(entry.api_version, entry.kind)
        if res is None:
            continue
        try:
            live = await kube.get(res, name=entry.name, namespace=entry.namespace)
        except Forbidden as e:
            errors.append(ObjectError(entry.ref, "(inventory)", without_subject(e)))
            continue
        if live is None:
            continue
        if entry.uid and live["metadata"].get("uid") != entry.uid:
            continue  # a different object with the same name: not ours
        m = Manifest(body=live, source="(inventory)")
        base = PlannedObject(
            ref=entry.ref,
            api_version=entry.api_version,
            action=Action.PRUNE,
            source=m.source,
            sort_key=lenient_key(m),
            live=live,
        )
        foreign = not_ours(ident, entry, live, adopt=adopt)
        if foreign:
            out.append(replace(base, action=Action.SKIP, reason=foreign))
        elif not app.prune:
            out.append(replace(base, action=Action.SKIP, reason="app does not prune"))
        elif not pruned_how(m.annotations)[0]:
            out.append(replace(base, action=Action.SKIP, reason=kept_by(m.annotations)))
        elif (
            is_crd(entry.ref) and m.annotations.get(GITWARD_PRUNE) != "true" and not allow_crd_prune
        ):
            errors.append(
                ObjectError(entry.ref, "(inventory)", await crd_prune_refusal(kube, live))
            )
        else:
            out.append(replace(base, diff=masked_diff(live, None, (), entry.ref)))
    return out


def is_crd(ref: ObjectRef) -> bool:
    return ref.group == "apiextensions.k8s.io" and ref.kind == "CustomResourceDefinition"


async def crd_prune_refusal(kube: Kube, crd: Body) -> str:
    """Why a CRD that left git is not pruned, counting the custom resources it would take."""
    spec = crd.get("spec") or {}
    kind = str((spec.get("names") or {}).get("kind", ""))
    served = [v for v in spec.get("versions") or [] if v.get("served")]
    count = "its"
    if kind and served:
        res = await kube.resource_for(f"{spec.get('group', '')}/{served[0]['name']}", kind)
        if res is not None:
            try:
                count = str(len((await kube.list(res))[0]))
            except Forbidden:
                count = "its (uncounted: listing them is forbidden)"
    return (
        f"left git, but pruning it would delete {count} {kind or 'custom'} resource(s) in "
        f'the whole cluster; annotate it {GITWARD_PRUNE}: "true" or sync with '
        "--allow-crd-prune to prune it, or put it back in git"
    )


def lenient_key(m: Manifest) -> SortKey:
    """The sort key of a live object leaving git; annotations it carries that
    a plan would refuse must not keep it from being pruned."""
    try:
        return sort_key(m)
    except InvalidAnnotation:
        return key_of(m.ref, Directives())


def kept_by(annotations: dict[str, str]) -> str:
    if annotations.get(GITWARD_PRUNE) == "false":
        return f"{GITWARD_PRUNE}: 'false'"
    return f"{ARGO_SYNC_OPTIONS}: Prune=false"
