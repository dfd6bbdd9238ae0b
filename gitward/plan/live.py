"""Reading the live objects a plan compares with: one LIST per kind and namespace.

Without an inventory, the same LISTs also find every object whose tracking
annotation names the app, so a lost inventory is rebuilt at no extra cost.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from gitward.kube import Forbidden, Kube, Resource, without_subject
from gitward.objects import Body, ObjectRef
from gitward.plan.model import (
    ObjectError,
)
from gitward.plan.ownership import tracking_id
from gitward.plan.preparing import Prepared


async def fetch_live(
    kube: Kube,
    prepared: list[Prepared],
    errors: list[ObjectError],
    *,
    owner: str | None,
    namespaces: set[str] | None = None,
) -> tuple[dict[ObjectRef, Body], list[Body]]:
    """Live objects by ref, one LIST per resource and namespace; with ``owner``,
    also every listed object whose tracking annotation is ``owner``.

    ``namespaces``: those known to exist; nothing lives in any other, so
    nothing is read there (a cold start's namespaces are all new).

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
        if ns and namespaces is not None and ns not in namespaces:
            return []
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
            if i["metadata"]["name"] in names or (owner is not None and tracking_id(i) == owner)
        ]

    lists = await asyncio.gather(*(one(r, ns, names) for (r, ns), names in groups.items()))
    out: dict[ObjectRef, Body] = {}
    found: list[Body] = []
    for (res, ns), items in zip(groups, lists, strict=True):
        if isinstance(items, Forbidden):
            errors.extend(
                ObjectError(p.ref, p.manifest.source, without_subject(items))
                for p in prepared
                if p.resource == res and p.ref.namespace == ns
            )
            continue
        for item in items:
            item["apiVersion"] = res.api_version
            item["kind"] = res.kind
            out[ObjectRef.of(item)] = item
            if owner is not None and tracking_id(item) == owner:
                found.append(item)
    return out, found
