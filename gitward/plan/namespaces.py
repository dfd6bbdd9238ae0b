"""Which namespaces a plan creates, and which it must refuse.

A namespace that is Terminating refuses new objects after a long wait, and the
records namespace belongs to gitward alone: both are plan errors, found on the
namespace list the plan reads anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gitward.config.apps import AppSpec
from gitward.config.identity import records_namespace
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


def create_namespace(name: str) -> PlannedObject:
    """A namespace gitward creates because it is missing; never in the inventory."""
    body: Body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    m = Manifest(body=body, source=CREATE_NAMESPACE_SOURCE)
    return PlannedObject(
        ref=m.ref,
        api_version="v1",
        action=Action.CREATE,
        source=m.source,
        sort_key=sort_key(m),
        desired=body,
        diff=unified(None, body, label=str(m.ref)),
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
