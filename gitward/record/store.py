"""Compressed JSON documents in ConfigMaps: the storage under inventory and history.

Anyone with write access to the records namespace can change a record, and a
hand edit, a bad restore or a disk error can leave one that does not decode.
Every read therefore checks the whole chain (base64, gzip, JSON, and the
document's shape against a JSON Schema) and turns any failure into one
:class:`~gitward.errors.RecordCorrupt` that names the ConfigMap and says how to
recover. The app whose record it is fails; nothing else does.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import io
import json
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema
from jsonschema.exceptions import best_match

from gitward.config.identity import SHARED_FIELD_MANAGER, records_namespace
from gitward.errors import GitwardError, RecordCorrupt
from gitward.kube import Conflict, Kube, NotFound
from gitward.objects import Body

if TYPE_CHECKING:
    from gitward.record.snapshot import RecordSnapshot

KEY = "doc.json.gz"
# A ConfigMap holds at most 1 MiB; a record that inflates past this is not ours
# (and reading it whole would let a crafted one exhaust the controller's memory).
MAX_DOCUMENT_BYTES = 64 << 20


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: what it is called, its shape, and what deleting it costs."""

    what: str
    schema: dict[str, Any]
    #: How to recover, with ``{namespace}`` and ``{name}`` filled in.
    remedy: str


class RecordConflict(GitwardError):
    pass


def record_namespace() -> str:
    return records_namespace()


def encode(doc: Any) -> str:
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    # gzip framing (wbits 31) with a small internal state (memLevel 4): a record
    # is a few KiB, and setting up zlib's default state cost three times as much.
    packer = zlib.compressobj(6, zlib.DEFLATED, 31, 4)
    return base64.b64encode(packer.compress(raw) + packer.flush()).decode()


def decode(data: str) -> Any:
    """The document in a ``binaryData`` value; raises ``ValueError`` naming what is wrong."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"not base64: {e}") from e
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            inflated = f.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"not gzip: {e}") from e
    if len(inflated) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"inflates to more than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return json.loads(inflated)
    except ValueError as e:
        raise ValueError(f"not JSON: {e}") from e


def decode_record(body: Body, *, kind: RecordKind) -> Any:
    """The checked document in ConfigMap ``body``; :class:`RecordCorrupt` if it is not one."""
    meta = body.get("metadata") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))

    def corrupt(problem: str) -> RecordCorrupt:
        return RecordCorrupt(
            f"ConfigMap/{namespace}/{name}: not a valid gitward {kind.what} record ({problem}); "
            + kind.remedy.format(namespace=namespace, name=name)
        )

    data = (body.get("binaryData") or {}).get(KEY)
    if not isinstance(data, str) or not data:
        raise corrupt(f"no binaryData key {KEY}")
    try:
        doc = decode(data)
    except ValueError as e:
        raise corrupt(str(e)) from e
    error = best_match(jsonschema.Draft202012Validator(kind.schema).iter_errors(doc))
    if error is not None:
        raise corrupt(f"{error.json_path}: {error.message}") from error
    return doc


async def ensure_namespace(kube: Kube, namespace: str) -> None:
    ns = await kube.resource_for("v1", "Namespace")
    assert ns is not None
    if await kube.get(ns, name=namespace) is None:
        await kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    _ensured.add((kube.config.server, namespace))


# Records namespaces seen to exist, as (API server, namespace). A controller's
# cold start writes a thousand new records; asking each time whether their
# namespace exists would double that. Keyed by server rather than by client: a
# CLI sync opens a client of its own, and the next one in the process need not
# ask again; two clusters in one process never share an answer. A write that
# finds the namespace gone after all makes it again.
_ensured: set[tuple[str, str]] = set()


async def read(
    kube: Kube, name: str, *, kind: RecordKind, snapshot: RecordSnapshot | None = None
) -> Any | None:
    """The checked document in ConfigMap ``name``, or ``None`` when there is none.

    ``snapshot``: the records namespace listed for many syncs; it answers instead
    of a GET the first time the record is read.

    Raises :class:`RecordCorrupt` when the ConfigMap exists but holds no valid record.
    """
    cm = await kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    namespace = record_namespace()
    known, body = snapshot.take(name) if snapshot is not None else (False, None)
    if not known:
        body = await kube.get(cm, name=name, namespace=namespace)
    if body is None:
        return None
    body.setdefault("metadata", {}).update(namespace=namespace, name=name)
    doc = decode_record(body, kind=kind)
    others = other_writers(body)
    if others:
        # Checked on read, so a sync stops before its first write rather than
        # after applying, when it would fail to record what it did.
        raise RecordConflict(
            f"ConfigMap/{namespace}/{name}: {', '.join(others)} also wrote this gitward "
            f"{kind.what} record; gitward will not overwrite another writer's record. "
            + kind.remedy.format(namespace=namespace, name=name)
        )
    return doc


def other_writers(body: Body) -> list[str]:
    """Field managers other than gitward's that hold the record's data."""
    return sorted(
        {
            str(e.get("manager", ""))
            for e in (body.get("metadata") or {}).get("managedFields") or []
            if e.get("manager") != SHARED_FIELD_MANAGER
            and "f:binaryData" in (e.get("fieldsV1") or {})
        }
    )


class Unread:
    """What is stored has not been read."""


UNREAD = Unread()


async def write(
    kube: Kube, name: str, doc: Any, *, labels: dict[str, str], stored: Any = UNREAD
) -> None:
    """Replace the document in ConfigMap ``name``; writes nothing when it is unchanged.

    ``stored``: the document the caller read or wrote there a moment ago (``None``:
    there was none), which spares reading it again.
    """
    data = encode(doc)
    cm = await kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    namespace = record_namespace()
    live: Body | None
    if isinstance(stored, Unread):
        live = await kube.get(cm, name=name, namespace=namespace)
    else:
        live = None if stored is None else {"binaryData": {KEY: encode(stored)}}
    if live is not None and (live.get("binaryData") or {}).get(KEY) == data:
        return
    if live is None and (kube.config.server, namespace) not in _ensured:
        await ensure_namespace(kube, namespace)
    body: Body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "binaryData": {KEY: data},
    }
    # Never forced: a record some other writer holds fields of is not ours to overwrite.
    try:
        try:
            await kube.apply(body, field_manager=SHARED_FIELD_MANAGER)
        except NotFound:
            if live is not None:
                raise
            _ensured.discard((kube.config.server, namespace))
            await ensure_namespace(kube, namespace)
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
