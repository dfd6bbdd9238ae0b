"""The build record: what one ``gitward ci`` produced, for scripts and the promotion step.

Its top-level keys are a contract: ``commit``, ``version``, ``image`` (a
reference ending in ``@sha256:…``), ``chart`` (its OCI reference and digest,
its chart-repository URL) and ``timings``; with ``--promote``, ``promotions``
(each promotion pull request opened or updated). It never holds a credential.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Step:
    """One step of a run, as the progress line and the record show it."""

    name: str  # version, build, push-image, package, publish-oci, publish-repository
    seconds: float
    detail: str
    changed: bool = True  # False: nothing was built or pushed (it already existed)


@dataclass(frozen=True)
class ChartRecord:
    name: str
    version: str
    oci: str = ""  # oci://host/path/name:version
    digest: str = ""  # the OCI manifest's digest
    repository: str = ""  # the ChartMuseum-API repository URL
    url: str = ""  # where that repository serves the .tgz
    file: str = ""  # a local copy, when written


@dataclass(frozen=True)
class PromotionRecord:
    """One promotion pull request ``gitward ci --promote`` opened, updated or found."""

    environments: tuple[str, ...]
    chart: str
    version: str
    outcome: str  # opened, updated, up-to-date, in-git
    branch: str
    number: int | None = None  # None: in-git, no pull request
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "environments": list(self.environments),
            "chart": self.chart,
            "version": self.version,
            "outcome": self.outcome,
            "branch": self.branch,
            "pullRequest": (
                {"number": self.number, "url": self.url} if self.number is not None else None
            ),
        }


@dataclass(frozen=True)
class BuildRecord:
    commit: str
    version: str
    source: str
    dirty: bool
    image: str  # host/path/name:version@sha256:…
    chart: ChartRecord | None
    steps: tuple[Step, ...]
    total: float  # the run's wall time: steps may run beside each other
    promotions: tuple[PromotionRecord, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        timings = {s.name: round(s.seconds, 3) for s in self.steps}
        timings["total"] = round(self.total, 3)
        chart = None
        if self.chart is not None:
            c = self.chart
            chart = {
                "name": c.name,
                "version": c.version,
                "oci": c.oci or None,
                "digest": c.digest or None,
                "repository": c.repository or None,
                "url": c.url or None,
            }
            if c.file:
                chart["file"] = c.file
        return {
            "commit": self.commit,
            "version": self.version,
            "source": self.source,
            "dirty": self.dirty,
            "image": self.image,
            "chart": chart,
            "timings": timings,
            "promotions": [p.to_dict() for p in self.promotions],
            "steps": [
                {
                    "name": s.name,
                    "seconds": round(s.seconds, 3),
                    "detail": s.detail,
                    "changed": s.changed,
                }
                for s in self.steps
            ],
        }


def write_record(path: Path, record: BuildRecord) -> None:
    """Write the record as JSON, atomically (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gitward-record-", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(record.to_dict(), f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
