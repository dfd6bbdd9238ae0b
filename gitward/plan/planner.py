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
import base64
import copy
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from gitward.config.apps import AppSpec
from gitward.config.identity import (
    SHARED_FIELD_MANAGER,
    TRACKING_ANNOTATION,
    AppId,
    owner_of,
    records_namespace,
)
from gitward.config.tenancy import Policy
from gitward.kube import Conflict, Forbidden, Invalid, Kube, KubeError, Resource
from gitward.objects import Body, Manifest, ObjectRef, group_of
from gitward.plan import normalize, pointers
from gitward.plan.annotations import (
    ARGO_HOOK,
    ARGO_SYNC_OPTIONS,
    GITWARD_PRUNE,
    GITWARD_RECREATE,
    Directives,
    InvalidAnnotation,
    pruned_how,
    read,
)
from gitward.plan.apis import unserved_advice
from gitward.plan.diff import unified
from gitward.plan.fieldsets import taken_back
from gitward.plan.inventory import (
    Inventory,
    InventoryEntry,
    desired_hash,
    fields_hash,
    managed_fields,
    values_hash,
)
from gitward.plan.model import Action, ObjectError, Plan, PlannedObject
from gitward.plan.order import SortKey, key_of, sort_key
from gitward.plan.policy import refusals

# Objects in a namespace that does not exist yet are validated here instead.
_STAND_IN_NAMESPACE = "default"


@dataclass
class _Prepared:
    manifest: Manifest
    body: Body
    resource: Resource | None  # None: its CRD is part of this same sync
    directives: Directives
    ref: ObjectRef  # a hook with generateName is named by it, trailing dash and all
    key: SortKey

    @property
    def is_hook(self) -> bool:
        return self.directives.hook is not None


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
) -> Plan:
    """Plan a sync of ``app``. With ``diffs=False`` no diff text is made (a sync
    that shows none need not pay for rendering a thousand bodies as YAML).
    ``adopt`` takes over objects the same app key owns from another source.

    ``kube`` may impersonate the app's ServiceAccount: then every read and
    dry-run is the app's own, and what its RBAC refuses is a plan error."""
    errors: list[ObjectError] = []
    manifests = list(manifests)
    crd_kinds = _crd_kinds(manifests)
    prepared: list[_Prepared] = []
    seen: dict[ObjectRef, str] = {}
    ns_res = await kube.resource_for("v1", "Namespace")
    assert ns_res is not None
    # Which namespaces exist is read as gitward itself, like discovery: an app's
    # account needs no cluster-wide rights to be planned.
    ns_items = (await kube.unimpersonated.list(ns_res))[0]
    namespaces = {n["metadata"]["name"] for n in ns_items}
    terminating = {
        n["metadata"]["name"]
        for n in ns_items
        if (n.get("status") or {}).get("phase") == "Terminating"
    }

    skipped: list[PlannedObject] = []
    for m in manifests:
        p = await _prepare(kube, app, m, crd_kinds, errors)
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
    wanted_ns = _namespaces_to_create(app, prepared)
    extra: list[PlannedObject] = [
        _create_namespace(name) for name in sorted(wanted_ns - namespaces - declared_ns)
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
    errors.extend(_namespace_errors(app, prepared, will_exist, terminating))

    ident = app.id
    unreadable: list[ObjectError] = []
    live, found = await _fetch_live(
        kube,
        [p for p in prepared if not p.is_hook and p.ref not in blocked],
        unreadable,
        # Without an inventory, the LISTs also find what this app owns.
        owner=ident.tracking_id if inventory is None else None,
    )
    errors.extend(unreadable)
    blocked.update(e.ref for e in unreadable if e.ref is not None)
    by_ref = inventory.by_ref() if inventory else {}
    sem = asyncio.Semaphore(concurrency)

    async def plan_one(p: _Prepared) -> PlannedObject | ObjectError:
        async with sem:
            return await _plan_object(
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
        await _plan_prune(kube, app, inventory or rebuilt, desired_refs, errors, adopt=adopt)
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


def _namespaces_to_create(app: AppSpec, prepared: list[_Prepared]) -> set[str]:
    """The app's namespace with ``createNamespace``, and the namespace of every
    object whose ``argocd.argoproj.io/sync-options`` say ``CreateNamespace=true``."""
    wanted = {app.namespace} if app.namespace and app.create_namespace else set()
    wanted |= {
        p.ref.namespace
        for p in prepared
        if p.directives.options.create_namespace and p.ref.namespace
    }
    return wanted


def _create_namespace(name: str) -> PlannedObject:
    """A namespace gitward creates because it is missing; never in the inventory."""
    body: Body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    m = Manifest(body=body, source="(createNamespace)")
    return PlannedObject(
        ref=m.ref,
        api_version="v1",
        action=Action.CREATE,
        source=m.source,
        sort_key=sort_key(m),
        desired=body,
        diff=unified(None, body, label=str(m.ref)),
    )


def _namespace_errors(
    app: AppSpec, prepared: list[_Prepared], will_exist: set[str], terminating: set[str]
) -> list[ObjectError]:
    records = records_namespace()
    errors: list[ObjectError] = []
    if app.namespace == records:
        errors.append(
            ObjectError(
                None,
                f"app {app.name}",
                f"namespace {records} holds gitward's records; no app may deploy to it",
            )
        )
    elif app.namespace in terminating:
        errors.append(
            ObjectError(
                None,
                f"app {app.name}",
                f"namespace {app.namespace} is Terminating; sync again once it is gone",
            )
        )
    for p in prepared:
        ns = p.ref.namespace
        if ns == records or (
            p.ref.kind == "Namespace" and not p.ref.group and p.ref.name == records
        ):
            errors.append(
                ObjectError(
                    p.ref,
                    p.manifest.source,
                    f"namespace {records} holds gitward's records; no app may render objects in it",
                )
            )
        elif ns and ns not in will_exist:
            errors.append(ObjectError(p.ref, p.manifest.source, f"namespace {ns} does not exist"))
        elif ns and ns in terminating and ns != app.namespace:
            errors.append(
                ObjectError(
                    p.ref,
                    p.manifest.source,
                    f"namespace {ns} is Terminating; sync again once it is gone",
                )
            )
    return errors


def _crd_kinds(manifests: list[Manifest]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for every CRD among the manifests."""
    out: dict[tuple[str, str], bool] = {}
    for m in manifests:
        if m.body.get("kind") == "CustomResourceDefinition":
            spec = m.body.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            if kind:
                out[(str(spec.get("group", "")), str(kind))] = spec.get("scope") != "Cluster"
    return out


async def _prepare(
    kube: Kube,
    app: AppSpec,
    m: Manifest,
    crd_kinds: dict[tuple[str, str], bool],
    errors: list[ObjectError],
) -> _Prepared | None:
    body = copy.deepcopy(m.body)
    ref = ObjectRef.of(body)
    generate_name = str((body.get("metadata") or {}).get("generateName") or "")
    if not ref.name and not generate_name:
        errors.append(ObjectError(None, m.source, f"{ref.kind} has no metadata.name"))
        return None
    if not ref.name:
        ref = replace(ref, name=generate_name)
    try:
        directives = read(m)
    except InvalidAnnotation as e:
        errors.append(ObjectError(ref, m.source, e.detail))
        return None
    if not (body.get("metadata") or {}).get("name") and directives.hook is None:
        errors.append(
            ObjectError(
                ref,
                m.source,
                "metadata.generateName works only on hooks (a new object each run); "
                "give it a metadata.name",
            )
        )
        return None
    resource = await kube.resource_for(m.api_version, ref.kind)
    if resource is None:
        group = group_of(m.api_version)
        if (group, ref.kind) not in crd_kinds:
            errors.append(
                ObjectError(
                    ref,
                    m.source,
                    unserved_advice(m.api_version, ref.kind),
                )
            )
            return None
        namespaced = crd_kinds[(group, ref.kind)]
    else:
        namespaced = resource.namespaced
    meta = body.setdefault("metadata", {})
    if namespaced:
        if not meta.get("namespace"):
            if not app.namespace:
                errors.append(
                    ObjectError(
                        ref,
                        m.source,
                        f"namespaced {ref.kind} has no namespace and app {app.name} sets none",
                    )
                )
                return None
            meta["namespace"] = app.namespace
    else:
        meta.pop("namespace", None)
    if directives.hook is None:
        meta.setdefault("annotations", {})[TRACKING_ANNOTATION] = app.id.tracking_id
    if ref.kind == "Secret" and not ref.group:
        _string_data_as_data(body)
    ref = replace(ref, namespace=str(meta.get("namespace") or ""))
    return _Prepared(
        manifest=m,
        body=body,
        resource=resource,
        directives=directives,
        ref=ref,
        key=key_of(ref, directives),
    )


def _string_data_as_data(secret: Body) -> None:
    """Fold ``stringData`` into ``data``, as the API server would on write.

    ``stringData`` is write-only: the live object never shows it, so gitward
    would own a field that cannot drift and miss a hand edit of ``data``.
    Applying ``data`` makes gitward own the stored values themselves.
    """
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = dict(secret.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        secret["data"] = data


async def _fetch_live(
    kube: Kube, prepared: list[_Prepared], errors: list[ObjectError], *, owner: str | None
) -> tuple[dict[ObjectRef, Body], list[Body]]:
    """Live objects by ref, one LIST per resource and namespace; with ``owner``,
    also every listed object whose tracking annotation is ``owner``.

    A read the app's account may not make is an error of each object it was for.
    """
    groups: dict[tuple[Resource, str], set[str]] = defaultdict(set)
    for p in prepared:
        if p.resource is not None:
            groups[(p.resource, p.ref.namespace)].add(p.ref.name)

    async def get(res: Resource, ns: str, name: str) -> list[Body] | Forbidden:
        try:
            got = await kube.get(res, name=name, namespace=ns)
        except Forbidden as e:
            return e
        return [got] if got else []

    async def one(res: Resource, ns: str, names: set[str]) -> list[Body] | Forbidden:
        if len(names) == 1 and owner is None:
            return await get(res, ns, next(iter(names)))
        try:
            items, _ = await kube.list(res, namespace=ns)
        except Forbidden as e:
            if len(names) == 1:
                # An account that may read its object but not list its kind can
                # still be planned; only the rebuild from annotations is lost.
                return await get(res, ns, next(iter(names)))
            return e
        return [
            i
            for i in items
            if i["metadata"]["name"] in names or (owner is not None and _tracking_id(i) == owner)
        ]

    lists = await asyncio.gather(*(one(r, ns, names) for (r, ns), names in groups.items()))
    out: dict[ObjectRef, Body] = {}
    found: list[Body] = []
    for (res, ns), items in zip(groups, lists, strict=True):
        if isinstance(items, Forbidden):
            errors.extend(
                ObjectError(p.ref, p.manifest.source, _detail(items))
                for p in prepared
                if p.resource == res and p.ref.namespace == ns
            )
            continue
        for item in items:
            item["apiVersion"] = res.api_version
            item["kind"] = res.kind
            out[ObjectRef.of(item)] = item
            if owner is not None and _tracking_id(item) == owner:
                found.append(item)
    return out, found


def _tracking_id(body: Body) -> str | None:
    return ((body.get("metadata") or {}).get("annotations") or {}).get(TRACKING_ANNOTATION)


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


async def _plan_object(
    *,
    kube: Kube,
    app: AppSpec,
    p: _Prepared,
    live: Body | None,
    entry_hash: tuple[str, str, str, str] | None,
    namespaces: set[str],
    force: bool,
    diffs: bool,
    adopt: bool,
) -> PlannedObject | ObjectError:
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
        refused = _ownership_error(ident, live, adopt=adopt)
        if refused:
            return ObjectError(ref, m.source, refused, ownership=True)

    if p.resource is None:
        # Its CRD is applied earlier in this sync; the server cannot validate it yet.
        return replace(
            base,
            action=Action.CREATE,
            diff=_diff(None, desired, ignore, ref) if diffs else "",
            reason="validated after its CustomResourceDefinition is established",
        )

    probe = desired
    if ref.namespace and ref.namespace not in namespaces:
        probe = copy.deepcopy(desired)
        probe["metadata"]["namespace"] = _STAND_IN_NAMESPACE
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
            "sync without --no-force-conflicts to let git win, or drop the fields: " + _detail(e),
        )
    except Invalid as e:
        message = _detail(e)
        if immutable_refusal(message) and live is not None:
            if p.directives.options.recreate:
                return replace(
                    base,
                    action=Action.RECREATE,
                    diff=_diff(live, desired, ignore, ref) if diffs else "",
                    reason="immutable field changed",
                )
            message += f"; annotate it {GITWARD_RECREATE}: 'true' to delete and recreate it"
        return ObjectError(ref, m.source, message)
    except KubeError as e:
        return ObjectError(ref, m.source, _detail(e))

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
        diff=_diff(live, dry, ignore, ref) if diffs else "",
        reason=_taken_back_reason(live, dry, manager) if live is not None else "",
    )


def _taken_back_reason(live: Body, dry: Body, manager: str) -> str:
    """Which fields git takes back from which other writer (a hand edit, say)."""
    taken = taken_back(live, dry, manager)
    return "; ".join(
        f"takes {', '.join(fields[:5])}{' …' if len(fields) > 5 else ''} back from {who}"
        for who, fields in sorted(taken.items())
    )


def _ownership_error(ident: AppId, live: Body, *, adopt: bool) -> str | None:
    """Why this app may not apply ``live``'s object, or ``None`` when it may."""
    owner = owner_of((live.get("metadata") or {}).get("annotations"))
    if owner is not None:
        if owner.key != ident.key:
            return (
                f"owned by {owner.describe()}; {ident.describe()} renders it too. "
                "An object has exactly one owner app: remove it from one of them"
            )
        if owner.source != ident.source and not adopt:
            return (
                f"owned by {owner.describe()}; this sync is from {ident.source}. "
                f"To hand app {ident.key} over to this source, sync with --adopt"
            )
        return None
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        manager = str(entry.get("manager", ""))
        if (
            manager.startswith("gitward/")
            and manager != ident.field_manager
            and entry.get("operation") == "Apply"
        ):
            other = manager.removeprefix("gitward/")
            return (
                f"applied by app {other} (field manager {manager}); {ident.describe()} "
                "renders it too. An object has exactly one owner app: remove it from one of them"
            )
    return None


def immutable_refusal(message: str) -> bool:
    """The server refused a change to a field that cannot change in place."""
    return "immutable" in message or (
        # A StatefulSet says so in its own words.
        "updates to statefulset spec for fields other than" in message
    )


def _detail(e: KubeError) -> str:
    """The server's message without our subject prefix."""
    return str(e).split(": ", 1)[-1]


def _diff(old: Body | None, new: Body | None, ignore: tuple[str, ...], ref: ObjectRef) -> str:
    shown_old, shown_new = normalize.mask_secrets(
        normalize.normalize(old, ignore=ignore) if old is not None else None,
        normalize.normalize(new, ignore=ignore) if new is not None else None,
    )
    return unified(shown_old, shown_new, label=str(ref))


async def _plan_prune(
    kube: Kube,
    app: AppSpec,
    inventory: Inventory | None,
    desired: set[ObjectRef],
    errors: list[ObjectError],
    *,
    adopt: bool,
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
            errors.append(ObjectError(entry.ref, "(inventory)", _detail(e)))
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
            sort_key=_lenient_key(m),
            live=live,
        )
        not_ours = _not_ours(ident, entry, live, adopt=adopt)
        if not_ours:
            out.append(replace(base, action=Action.SKIP, reason=not_ours))
        elif not app.prune:
            out.append(replace(base, action=Action.SKIP, reason="app does not prune"))
        elif not pruned_how(m.annotations)[0]:
            out.append(replace(base, action=Action.SKIP, reason=_kept_by(m.annotations)))
        else:
            out.append(replace(base, diff=_diff(live, None, (), entry.ref)))
    return out


def _not_ours(ident: AppId, entry: InventoryEntry, live: Body, *, adopt: bool) -> str:
    """Why prune must leave ``live`` alone although the inventory lists it; ``""`` if ours."""
    owner = owner_of((live.get("metadata") or {}).get("annotations"))
    if owner is not None:
        if owner.key == ident.key and (owner.source == ident.source or adopt):
            return ""
        return f"not pruned: owned by {owner.describe()}"
    # No tracking annotation: only what gitward applied before objects carried
    # one, recorded with its uid, may go.
    if entry.uid and (
        managed_fields(live, SHARED_FIELD_MANAGER) is not None
        or managed_fields(live, ident.field_manager) is not None
    ):
        return ""
    return f"not pruned: it carries no {TRACKING_ANNOTATION} naming {ident.describe()}"


def _lenient_key(m: Manifest) -> SortKey:
    """The sort key of a live object leaving git; annotations it carries that
    a plan would refuse must not keep it from being pruned."""
    try:
        return sort_key(m)
    except InvalidAnnotation:
        return key_of(m.ref, Directives())


def _kept_by(annotations: dict[str, str]) -> str:
    if annotations.get(GITWARD_PRUNE) == "false":
        return f"{GITWARD_PRUNE}: 'false'"
    return f"{ARGO_SYNC_OPTIONS}: Prune=false"
