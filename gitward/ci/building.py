"""``gitward ci build``: the image, from the Dockerfile, with buildah.

The image's manifest carries the OCI annotations that trace it to its code:
``org.opencontainers.image.revision`` (the commit), ``.source``,
``.version`` and ``.created``. A failed build names the step that failed and
keeps its log; the CLI prints the log's last lines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gitward.artifacts.buildah import BuildahSession
from gitward.ci.errors import BuildFailed, CiInputError
from gitward.ci.targets import Targets
from gitward.ci.versioning import CodeVersion
from gitward.tools import cache_root

BUILD_TIMEOUT = 3600.0
TAIL = 20
_STEP = re.compile(r"^STEP (\d+/\d+): (.*)$")


@dataclass(frozen=True)
class BuiltImage:
    image_id: str
    name: str  # in buildah's storage: host/path/name:version
    log: Path


def image_annotations(code: CodeVersion, *, created: str | None = None) -> dict[str, str]:
    return {
        "org.opencontainers.image.revision": code.commit,
        "org.opencontainers.image.source": code.source,
        "org.opencontainers.image.version": code.version,
        "org.opencontainers.image.created": created
        or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def log_path(targets: Targets, code: CodeVersion) -> Path:
    directory = cache_root() / "ci" / "logs"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{targets.image_name.replace('/', '_')}-{code.version}.log"


def build_image(
    buildah: BuildahSession,
    *,
    targets: Targets,
    code: CodeVersion,
    echo: Callable[[str], None] | None = None,
) -> BuiltImage:
    """Build ``targets``' image as version ``code``; :class:`BuildFailed` when it does not."""
    dockerfile = targets.dockerfile.relative_to(targets.root)
    if not targets.dockerfile.is_file():
        raise CiInputError(f"{dockerfile}: no Dockerfile in the repository (image.dockerfile)")
    if not targets.context.is_dir():
        raise CiInputError(f"{targets.context}: the build context is not a directory")
    name = targets.local_name(code.version)
    log = log_path(targets, code)
    args = ["bud", "--isolation", buildah.buildah.isolation, "--format", "oci"]
    args += ["--file", str(targets.dockerfile), "--tag", name]
    for key, value in targets.build_args:
        args += ["--build-arg", f"{key}={value}"]
    for key, value in targets.build_contexts:
        args += ["--build-context", f"{key}={value}"]
    for key, value in targets.secrets:
        args += ["--secret", f"id={key},src={value}"]
    for key, value in image_annotations(code).items():
        args += ["--annotation", f"{key}={value}"]
    iidfile = log.with_suffix(".iid")
    iidfile.unlink(missing_ok=True)
    args += ["--iidfile", str(iidfile), str(targets.context)]
    started = time.monotonic()
    run = buildah.run_logged(
        *args, what=f"{dockerfile}: image build", timeout=BUILD_TIMEOUT, log=log, echo=echo
    )
    if not run.ok or not iidfile.exists():
        lines = run.out.splitlines()
        raise BuildFailed(
            f"{dockerfile}: the image build failed{_failed_step(lines)} "
            f"after {time.monotonic() - started:.1f}s; log: {log}",
            tail=tuple(lines[-TAIL:]),
            log=str(log),
        )
    image_id = iidfile.read_text().strip()
    iidfile.unlink(missing_ok=True)
    return BuiltImage(image_id=image_id, name=name, log=log)


def _failed_step(lines: list[str]) -> str:
    """`` at STEP 3/5: RUN make (exit status 2)`` from buildah's log, or ``""``."""
    step = ""
    for line in lines:
        m = _STEP.match(line.strip())
        if m:
            step = f" at STEP {m.group(1)}: {m.group(2)}"
    status = next(
        (m.group(0) for line in reversed(lines) if (m := re.search(r"exit status \d+", line))),
        "",
    )
    return f"{step} ({status})" if step and status else step
