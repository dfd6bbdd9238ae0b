"""What the cluster remembers of an app: its syncs and the drift seen on its objects."""

from __future__ import annotations

from typing import Any

from gitward.record.drifts import DriftRecord
from gitward.record.history import SyncRecord
from gitward.views.encoding import document, encode


def history_view(record: SyncRecord) -> dict[str, Any]:
    return document("SyncRecord", encode(record))


def drift_view(record: DriftRecord) -> dict[str, Any]:
    body = encode(record)
    # ``kind`` names the document's shape; what happened to the object is its ``change``.
    body["change"] = body.pop("kind")
    return document("Drift", body)
