"""Kubernetes Events on managed objects, so ``kubectl describe`` shows drift too."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from gitward.kube import Kube, KubeError
from gitward.objects import ObjectRef


async def emit(
    kube: Kube,
    *,
    ref: ObjectRef,
    api_version: str,
    uid: str,
    reason: str,
    message: str,
    warning: bool,
) -> None:
    """Record an Event about ``ref``; an Event that cannot be written is not worth failing for."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    namespace = ref.namespace or "default"
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{ref.name}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": api_version,
            "kind": ref.kind,
            "name": ref.name,
            "namespace": ref.namespace,
            "uid": uid,
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": "gitward"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "reportingComponent": "gitward",
    }
    try:
        await kube.create(body)
    except KubeError:
        return
