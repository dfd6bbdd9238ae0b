"""Which namespaces a plan creates, and which it must refuse.

A namespace that is Terminating refuses new objects after a long wait, and the
records namespace belongs to gitward alone: both are plan errors, found on the
namespace list the plan reads anyway.

A controller planning many apps in a row reads that list once and hands it
over as ``known``; a namespace missing from it may have been created since, so
it alone is read again, unless ``known`` is kept current by a watch
(:class:`WatchedNamespaces`). That read also tells the planner that nothing of the
app lives in a namespace that does not exist, which a cold start of a
thousand apps would otherwise learn from a thousand LISTs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from gitward.config.apps import AppSpec
from gitward.config.identity import records_namespace
from gitward.kube import Kube, KubeError
from gitward.objects import Body, Manifest, ObjectRef
from gitward.plan.annotations import Directives
from gitward.plan.diff import unified
from gitward.plan.model import CREATE_NAMESPACE_SOURCE, Action, ObjectError, PlannedObject
from gitward.plan.order import sort_key


class Rendered(Protocol):
    """What these checks read of an object the plan prepared."""

    @property
    def ref(self) -> ObjectRef: ...

    @property
    def manifest(self) -> Manifest: ...

    @property
    def directives(self) -> Directives: ...


class WatchedNamespaces(dict[str, bool]):
    """Namespaces (name to whether it is Terminating) kept current by a watch: while
    :attr:`current`, a namespace missing from it does not exist, and is not read."""

    current: bool = True


async def read_namespaces(
    kube: Kube, wanted: Iterable[str], known: Mapping[str, bool] | None
) -> tuple[set[str], set[str]]:
    """Which namespaces exist and which of them are Terminating.

    Without ``known`` (name to Terminating, as listed earlier) every namespace is
    listed; with it, only the ``wanted`` ones it lacks are read, one by one.
    Read as gitward itself, like discovery: an app's account needs no
    cluster-wide rights to be planned.
    """
    res = await kube.resource_for("v1", "Namespace")
    assert res is not None
    reader = kube.unimpersonated
    if known is None:
        items = (await reader.list(res))[0]
        exist = {n["metadata"]["name"] for n in items}
        terminating = {n["metadata"]["name"] for n in items if is_terminating(n)}
        return exist, terminating
    # Only the wanted namespaces are answered for: nothing else is asked of them.
    names = {n for n in wanted if n}
    exist = {n for n in names if n in known}
    terminating = {n for n in exist if known[n]}
    watched = isinstance(known, WatchedNamespaces) and known.current
    missing = [] if watched else sorted(names - exist)
    for got in await asyncio.gather(*(reader.get(res, name=n) for n in missing)):
        if got is not None:
            exist.add(got["metadata"]["name"])
            if is_terminating(got):
                terminating.add(got["metadata"]["name"])
    return exist, terminating


async def known_namespaces(kube: Kube) -> dict[str, bool] | None:
    """Every namespace and whether it is Terminating, for many plans to share;
    ``None`` when they cannot be listed (each plan then lists them itself)."""
    res = await kube.resource_for("v1", "Namespace")
    if res is None:
        return None
    try:
        items, _ = await kube.list(res)
    except KubeError:
        return None
    return {n["metadata"]["name"]: is_terminating(n) for n in items}


def is_terminating(namespace: Body) -> bool:
    """Whether the Namespace ``namespace`` is being deleted."""
    return (namespace.get("status") or {}).get("phase") == "Terminating"


def namespaces_to_create(app: AppSpec, prepared: Sequence[Rendered]) -> set[str]:
    """The app's namespace with ``createNamespace``, and the namespace of every
    object whose ``argocd.argoproj.io/sync-options`` say ``CreateNamespace=true``."""
    wanted = {app.namespace} if app.namespace and app.create_namespace else set()
    wanted |= {
        p.ref.namespace
        for p in prepared
        if p.directives.options.create_namespace and p.ref.namespace
    }
    return wanted


def create_namespace(name: str, *, diff: bool = True) -> PlannedObject:
    """A namespace gitward creates because it is missing; never in the inventory.

    ``diff=False`` leaves its diff text out, as for every object of a plan made without diffs.
    """
    body: Body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    m = Manifest(body=body, source=CREATE_NAMESPACE_SOURCE)
    return PlannedObject(
        ref=m.ref,
        api_version="v1",
        action=Action.CREATE,
        source=m.source,
        sort_key=sort_key(m),
        desired=body,
        diff=unified(None, body, label=str(m.ref)) if diff else "",
    )


def namespace_errors(
    app: AppSpec, prepared: Sequence[Rendered], will_exist: set[str], terminating: set[str]
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
