"""From a rendered manifest to the object a plan works on.

Each manifest is resolved through discovery (a namespaced object without a
namespace gets the app's; a cluster-scoped one loses a stray one), read for
its annotations, given the app's tracking annotation, and a Secret's
``stringData`` becomes ``data``.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, replace

from gitward.config.apps import AppSpec
from gitward.config.identity import (
    TRACKING_ANNOTATION,
)
from gitward.kube import Kube, Resource
from gitward.objects import Body, Manifest, ObjectRef, group_of
from gitward.plan.annotations import (
    Directives,
    InvalidAnnotation,
    read,
)
from gitward.plan.apis import unserved_advice
from gitward.plan.model import (
    ObjectError,
)
from gitward.plan.order import SortKey, key_of


@dataclass
class Prepared:
    manifest: Manifest
    body: Body
    resource: Resource | None  # None: its CRD is part of this same sync
    directives: Directives
    ref: ObjectRef  # a hook with generateName is named by it, trailing dash and all
    key: SortKey

    @property
    def is_hook(self) -> bool:
        return self.directives.hook is not None


def crd_kinds(manifests: list[Manifest]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for every CRD among the manifests."""
    out: dict[tuple[str, str], bool] = {}
    for m in manifests:
        if m.body.get("kind") == "CustomResourceDefinition":
            spec = m.body.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            if kind:
                out[(str(spec.get("group", "")), str(kind))] = spec.get("scope") != "Cluster"
    return out


async def prepare(
    kube: Kube,
    app: AppSpec,
    m: Manifest,
    crd_kinds: dict[tuple[str, str], bool],
    errors: list[ObjectError],
) -> Prepared | None:
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
        string_data_as_data(body)
    ref = replace(ref, namespace=str(meta.get("namespace") or ""))
    return Prepared(
        manifest=m,
        body=body,
        resource=resource,
        directives=directives,
        ref=ref,
        key=key_of(ref, directives),
    )


def string_data_as_data(secret: Body) -> None:
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
