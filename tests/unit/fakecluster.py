"""An app, and a cluster state to run it against, on the in-memory API server.

Shared by the unit tests of the core (planner, applier, sync, controller,
leader): each builds a :class:`FakeApiServer`, seeds it with what "was there
before", and runs the real code against it through the real client.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from gitward.config.apps import AppSpec
from gitward.config.identity import TRACKING_ANNOTATION
from gitward.kube import Kube
from gitward.kube.fake import Call, FakeApiServer
from gitward.objects import Body, Manifest

T = TypeVar("T")

SOURCE = "https://git.example/config.git"
APP = AppSpec(name="shop", path="apps/shop", namespace="shop", source=SOURCE)
TRACKING = f"shop@{SOURCE}"
MANAGER = APP.id.field_manager  # gitward/shop


@dataclass(frozen=True)
class Step:
    """One write that made the live state: ``body`` applied (or updated) by ``manager``."""

    manager: str
    body: Body
    operation: str = "apply"  # apply, or update (a PUT of the merged object: kubectl edit)


def server(*namespaces: str) -> FakeApiServer:
    return FakeApiServer(namespaces=("default", "gitward-system", "shop", *namespaces))


def run(srv: FakeApiServer, fn: Callable[[Kube], Awaitable[T]]) -> T:
    """``fn`` with a client of ``srv``, on a fresh event loop."""

    async def go() -> T:
        async with srv.kube() as kube:
            return await fn(kube)

    return asyncio.run(go())


async def seed(kube: Kube, steps: Iterable[Step]) -> dict[str, Body]:
    """Carry out ``steps``; returns the last body each object name got."""
    out: dict[str, Body] = {}
    for step in steps:
        if step.operation == "apply":
            body = await kube.apply(step.body, force=True, field_manager=step.manager)
        else:
            res = await kube.resource_for(step.body["apiVersion"], step.body["kind"])
            assert res is not None
            meta = step.body["metadata"]
            live = await kube.get(res, name=meta["name"], namespace=meta.get("namespace", ""))
            assert live is not None, f"update of {meta['name']}: it does not exist"
            body = await kube.replace(_merged(live, step.body), field_manager=step.manager)
        out[body["metadata"]["name"]] = body
    return out


def _merged(live: Body, change: Body) -> Body:
    out = copy.deepcopy(live)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def configmap(name: str, *, tracked: str | None = TRACKING, **data: str) -> Body:
    meta: dict[str, Any] = {"name": name, "namespace": "shop"}
    if tracked:
        meta["annotations"] = {TRACKING_ANNOTATION: tracked}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def manifests(*bodies: Body) -> tuple[Manifest, ...]:
    return tuple(
        Manifest(body=copy.deepcopy(b), source=f"{b['metadata']['name']}.yaml") for b in bodies
    )


def writes(calls: Iterable[Call]) -> list[Call]:
    """Requests that changed (or could have changed) state: no reads, no dry-runs."""
    return [c for c in calls if c.verb in ("create", "update", "patch", "delete") and not c.dry_run]
