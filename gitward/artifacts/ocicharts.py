"""Charts in an OCI registry, laid out as ``helm push`` does.

A chart version is a manifest tagged with the version, whose config blob is
the chart's metadata as JSON and whose one layer is the packaged ``.tgz``.
Versions are immutable: a tag that holds the same chart is left alone (and
said so), one that holds another chart is refused.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gitward.artifacts.chartfiles import same_chart
from gitward.artifacts.errors import VersionConflict
from gitward.artifacts.oci import OCI_MANIFEST, Registry
from gitward.artifacts.references import Repository

CONFIG_TYPE = "application/vnd.cncf.helm.config.v1+json"
CHART_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


@dataclass(frozen=True)
class Published:
    """Where a chart version is, and whether this run put it there."""

    reference: str  # oci://host/path/name:version
    digest: str
    pushed: bool  # False: the identical version was already there


def push_chart(
    registry: Registry,
    *,
    base: Repository,
    metadata: dict[str, Any],
    tgz: bytes,
    annotations: dict[str, str],
) -> Published:
    name, version = str(metadata["name"]), str(metadata["version"])
    repo = base.child(name)
    reference = f"oci://{repo}:{version}"
    existing = registry.manifest(repo, version)
    if existing is not None:
        layers = existing.doc.get("layers") or []
        chart_layer = next(
            (x for x in layers if isinstance(x, dict) and x.get("mediaType") == CHART_TYPE), None
        )
        if chart_layer is not None:
            theirs = registry.blob(repo, str(chart_layer.get("digest")))
            if same_chart(theirs, tgz, subject=f"{reference} in {registry.store}"):
                return Published(reference=reference, digest=existing.digest, pushed=False)
        raise VersionConflict(
            f"chart {name} {version}: {reference} already holds different content; "
            "published versions are immutable (commit and tag a new version)"
        )
    config = json.dumps(metadata, separators=(",", ":"), sort_keys=True).encode()
    # The two blobs go up side by side; the manifest that names them, after both.
    with ThreadPoolExecutor(max_workers=1) as pool:
        layer = pool.submit(registry.upload_blob, repo, tgz)
        config_digest = registry.upload_blob(repo, config)
        layer_digest = layer.result()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": CHART_TYPE, "digest": layer_digest, "size": len(tgz)}],
        "annotations": annotations,
    }
    body = json.dumps(manifest, separators=(",", ":")).encode()
    digest = registry.put_manifest(repo, version, body, OCI_MANIFEST)
    return Published(reference=reference, digest=digest, pushed=True)
