"""Making a live object and a desired one comparable.

The server adds bookkeeping (status, managedFields, resourceVersion …) that is
not configuration; comparing with it in would report every object OutOfSync
forever, the complaint users most often have about GitOps tools. We compare
the *dry-run result* of our apply with the live object, so server defaulting
appears on both sides and cancels out; what remains is removed here.
"""

from __future__ import annotations

import copy
from typing import Any

from gitward.objects import Body
from gitward.plan import pointers

_VOLATILE_METADATA = (
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
# Annotations other controllers keep on objects we manage.
_VOLATILE_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
)
MASK = "<masked>"


def normalize(body: Body, *, ignore: tuple[str, ...] = ()) -> Body:
    """A copy of ``body`` with status, bookkeeping and ignored pointers removed."""
    out = copy.deepcopy(body)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _VOLATILE_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        for key in _VOLATILE_ANNOTATIONS:
            annotations.pop(key, None)
        if not annotations:
            meta.pop("annotations", None)
    for pointer in ignore:
        pointers.remove(out, pointer)
    return out


def mask_secrets(old: Body | None, new: Body | None) -> tuple[Body | None, Body | None]:
    """Hide Secret values in both sides, keeping whether each key changed visible."""

    def is_secret(b: Body | None) -> bool:
        return b is not None and b.get("kind") == "Secret" and "/" not in str(b.get("apiVersion"))

    if not (is_secret(old) or is_secret(new)):
        return old, new
    old, new = copy.deepcopy(old), copy.deepcopy(new)
    for field in ("data", "stringData"):
        o: dict[str, Any] = (old or {}).get(field) or {}
        n: dict[str, Any] = (new or {}).get(field) or {}
        for key in set(o) | set(n):
            same = key in o and key in n and o[key] == n[key]
            if key in o:
                o[key] = MASK if same else MASK + " (old)"
            if key in n:
                n[key] = MASK if same else MASK + " (new)"
    return old, new
