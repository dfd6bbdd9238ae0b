"""Compressed JSON documents in ConfigMaps: the storage under inventory and history."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
from typing import Any

from gitward.config.identity import SHARED_FIELD_MANAGER, records_namespace
from gitward.errors import GitwardError
from gitward.kube import Conflict, Kube, NotFound
from gitward.objects import Body

KEY = "doc.json.gz"


class RecordConflict(GitwardError):
    pass


def record_namespace() -> str:
    return records_namespace()


def encode(doc: Any) -> str:
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(raw, mtime=0)).decode()


def decode(data: str) -> Any:
    return json.loads(gzip.decompress(base64.b64decode(data)))


async def ensure_namespace(kube: Kube, namespace: str) -> None:
    ns = await kube.resource_for("v1", "Namespace")
    assert ns is not None
    if await kube.get(ns, name=namespace) is None:
        await kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


async def read(kube: Kube, name: str) -> Any | None:
    """The document in ConfigMap ``name``, or ``None`` when there is none."""
    cm = await kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    body = await kube.get(cm, name=name, namespace=record_namespace())
    if body is None:
        return None
    data = (body.get("binaryData") or {}).get(KEY)
    return decode(data) if data else None


async def write(kube: Kube, name: str, doc: Any, *, labels: dict[str, str]) -> None:
    """Replace the document in ConfigMap ``name``; writes nothing when it is unchanged."""
    data = encode(doc)
    cm = await kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    namespace = record_namespace()
    live = await kube.get(cm, name=name, namespace=namespace)
    if live is not None and (live.get("binaryData") or {}).get(KEY) == data:
        return
    if live is None:
        await ensure_namespace(kube, namespace)
    body: Body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "binaryData": {KEY: data},
    }
    # Never forced: a record some other writer holds fields of is not ours to overwrite.
    try:
        await kube.apply(body, field_manager=SHARED_FIELD_MANAGER)
    except Conflict as e:
        raise RecordConflict(
            f"ConfigMap/{namespace}/{name}: another writer holds fields of this gitward "
            f"record ({e}); gitward will not overwrite it. Delete the ConfigMap and sync again"
        ) from e


async def delete(kube: Kube, name: str) -> None:
    cm = await kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    with contextlib.suppress(NotFound):
        await kube.delete(cm, name=name, namespace=record_namespace())
