"""Building a :class:`Plan` by asking the API server, never by guessing.

Every object that may have changed is server-side applied with ``dryRun=All``
and the result compared with the live object, so defaulting, admission and
other managers' fields appear on both sides. Objects whose manifest and whose
gitward-managed field set are both what the inventory recorded are proven
unchanged without any request beyond one LIST per kind and namespace: that is
what makes a no-op sync cheap and write-free.

Ownership is checked on the live objects the plan reads anyway, so it costs
no request: an object whose tracking annotation names another app is refused,
and prune only deletes what names this app. When an app's inventory is lost,
the same LISTs find the objects that name it, and the inventory is rebuilt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from gitward.config.apps import AppSpec
from gitward.config.tenancy import Policy
from gitward.kube import Kube
from gitward.objects import Manifest, ObjectRef
from gitward.plan.annotations import (
    ARGO_HOOK,
)
from gitward.plan.inventory import (
    Inventory,
    InventoryEntry,
)
from gitward.plan.live import fetch_live
from gitward.plan.model import (
    Action,
    ObjectError,
    Plan,
    PlannedObject,
)
from gitward.plan.namespaces import (
    create_namespace,
    namespace_errors,
    namespaces_to_create,
    read_namespaces,
)
from gitward.plan.objects import plan_object
from gitward.plan.policy import refusals
from gitward.plan.prechecks import may_create_first, may_precheck, prechecks
from gitward.plan.preparing import Prepared, crd_kinds, prepare
from gitward.plan.pruning import plan_prune


async def build_plan(
    *,
    kube: Kube,
    app: AppSpec,
    manifests: Iterable[Manifest],
    inventory: Inventory | None,
    force_conflicts: bool = False,
    concurrency: int = 16,
    diffs: bool = True,
    adopt: bool = False,
    policy: Policy | None = None,
    allow_crd_prune: bool = False,
    known_namespaces: Mapping[str, bool] | None = None,
) -> Plan:
    """Plan a sync of ``app``. With ``diffs=False`` no diff text is made (a sync
    that shows none need not pay for rendering a thousand bodies as YAML).
    ``adopt`` takes over objects the same app key owns from another source.

    ``kube`` may impersonate the app's ServiceAccount: then every read and
    dry-run is the app's own, and what its RBAC refuses is a plan error.

    ``allow_crd_prune`` lets prune delete a CRD (and so every custom resource of
    its kind) that does not carry ``gitward.io/prune: "true"``.

    ``known_namespaces``: the namespaces listed a moment ago (name to whether it
    is Terminating), so that planning many apps lists them once, not per app."""
    errors: list[ObjectError] = []
    manifests = list(manifests)
    if not manifests and not app.allow_empty:
        errors.append(
            ObjectError(
                None,
                f"app {app.name}",
                "renders no objects; a sync would prune everything it deployed. "
                "Set allowEmpty: true on the app in gitward.yaml if that is intended",
            )
        )
    crds = crd_kinds(manifests)
    prepared: list[Prepared] = []
    seen: dict[ObjectRef, str] = {}

    skipped: list[PlannedObject] = []
    for m in manifests:
        p = await prepare(kube, app, m, crds, errors)
        if p is None:
            continue
        if p.ref in seen and not p.is_hook:
            errors.append(ObjectError(p.ref, m.source, f"rendered twice (also in {seen[p.ref]})"))
            continue
        seen[p.ref] = m.source
        if p.directives.skip:
            # In git, so never pruned, but never applied either.
            skipped.append(
                PlannedObject(
                    ref=p.ref,
                    api_version=m.api_version,
                    action=Action.SKIP,
                    source=m.source,
                    sort_key=p.key,
                    reason=f"{ARGO_HOOK}: Skip",
                )
            )
            continue
        prepared.append(p)

    declared_ns = {p.ref.name for p in prepared if p.ref.kind == "Namespace" and not p.ref.group}
    wanted_ns = namespaces_to_create(app, prepared)
    namespaces, terminating = await read_namespaces(
        kube, {app.namespace, *wanted_ns, *(p.ref.namespace for p in prepared)}, known_namespaces
    )
    extra: list[PlannedObject] = [
        create_namespace(name, diff=diffs) for name in sorted(wanted_ns - namespaces - declared_ns)
    ]
    if app.namespace and app.namespace not in namespaces | declared_ns | wanted_ns:
        errors.append(
            ObjectError(
                None,
                f"app {app.name}",
                f"namespace {app.namespace} does not exist; set createNamespace: true",
            )
        )
    blocked: set[ObjectRef] = set()  # refused already: neither read nor dry-run
    if policy is not None:
        refused = refusals(
            policy,
            app=app,
            objects=[
                *((p.ref, p.manifest.source) for p in prepared),
                *((o.ref, o.source.strip("()")) for o in extra),
            ],
        )
        errors.extend(refused)
        blocked.update(e.ref for e in refused if e.ref is not None)
    will_exist = namespaces | declared_ns | wanted_ns
    errors.extend(namespace_errors(app, prepared, will_exist, terminating))

    ident = app.id
    unreadable: list[ObjectError] = []
    live, found = await fetch_live(
        kube,
        [p for p in prepared if not p.is_hook and p.ref not in blocked],
        unreadable,
        # Without an inventory, the LISTs also find what this app owns.
        owner=ident.tracking_id if inventory is None else None,
        namespaces=namespaces,
    )
    errors.extend(unreadable)
    blocked.update(e.ref for e in unreadable if e.ref is not None)
    by_ref = inventory.by_ref() if inventory else {}
    # A sync that shows no diffs checks new objects against the server's schema
    # where it can tell that is enough, instead of a dry-run each.
    checks = await prechecks(
        kube,
        []
        if diffs
        or kube.impersonated_user
        or not may_create_first(prepared, installed=inventory is not None)
        else [
            p for p in prepared if p.ref not in live and p.ref not in blocked and may_precheck(p)
        ],
    )
    sem = asyncio.Semaphore(concurrency)

    async def plan_one(p: Prepared) -> PlannedObject | ObjectError:
        async with sem:
            return await plan_object(
                kube=kube,
                app=app,
                p=p,
                live=live.get(p.ref),
                entry_hash=(
                    by_ref[p.ref].desired,
                    by_ref[p.ref].uid,
                    by_ref[p.ref].fields,
                    by_ref[p.ref].values,
                )
                # A replaced object's fields are held by an update, not an apply,
                # so its field set proves nothing: it is always dry-run.
                if p.ref in by_ref and not p.directives.options.replace
                else None,
                namespaces=namespaces,
                force=force_conflicts,
                diffs=diffs,
                adopt=adopt,
                schema=checks.check_for(p),
            )

    results = await asyncio.gather(*(plan_one(p) for p in prepared if p.ref not in blocked))
    planned: list[PlannedObject] = [*extra, *skipped]
    for r in results:
        if isinstance(r, ObjectError):
            errors.append(r)
        else:
            planned.append(r)

    desired_refs = {p.ref for p in prepared if not p.is_hook} | {o.ref for o in skipped}
    rebuilt = None
    if inventory is None and found:
        rebuilt = Inventory(
            app=ident.key,
            source=ident.source,
            entries=tuple(
                InventoryEntry.of(
                    ObjectRef.of(b), str(b["apiVersion"]), uid=str(b["metadata"].get("uid", ""))
                )
                for b in found
                if ObjectRef.of(b) not in desired_refs
            ),
        )
    planned.extend(
        await plan_prune(
            kube,
            app,
            inventory or rebuilt,
            desired_refs,
            errors,
            adopt=adopt,
            allow_crd_prune=allow_crd_prune,
        )
    )
    planned.sort(key=lambda o: o.sort_key)
    return Plan(
        app=app.name,
        objects=tuple(planned),
        errors=tuple(errors),
        installed=inventory is not None or bool(found),
        field_manager=ident.field_manager,
        rebuilt=len(found) if inventory is None else 0,
    )
