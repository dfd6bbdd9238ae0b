"""``gitward ci publish``: the image first, then the chart, to stores that keep versions.

Order matters: a chart that reached a store must never point at an image
that did not, so the image is pushed (or found) before any chart is.

Versions are immutable in every store. An image tag that exists is the
same image when its annotations name the same commit and version (an image
build is not byte-reproducible, so bytes cannot tell); a chart version that
exists is the same chart when it holds the same files. The same content is
a no-op that the result says; other content is refused with exit 2 naming
the version, before anything is pushed.
"""

from __future__ import annotations

from gitward.artifacts.buildah import BuildahSession
from gitward.artifacts.chartmuseum import ChartRepository, Uploaded
from gitward.artifacts.errors import StoreRefused, StoreUnreachable, VersionConflict
from gitward.artifacts.oci import Registry
from gitward.artifacts.ocicharts import Published, push_chart
from gitward.artifacts.references import Repository
from gitward.ci.errors import CiInputError
from gitward.ci.packaging import COMMIT, IMAGE, ImageRef, PackagedChart
from gitward.ci.versioning import CodeVersion

PUSH_TIMEOUT = 1800.0
REVISION = "org.opencontainers.image.revision"
VERSION = "org.opencontainers.image.version"


def published_image(registry: Registry, *, image: Repository, code: CodeVersion) -> ImageRef | None:
    """The image of this commit and version if the registry has it; ``None`` if absent.

    A tag that holds an image of another commit or version raises
    :class:`VersionConflict`.
    """
    found = registry.manifest(image, code.version)
    if found is None:
        return None
    notes = found.annotations
    if notes.get(REVISION) == code.commit and notes.get(VERSION) == code.version:
        return ImageRef(repository=str(image), tag=code.version, digest=found.digest)
    other = notes.get(REVISION)
    holds = f"an image of commit {other[:12]}" if other else "an image gitward did not build"
    raise VersionConflict(
        f"image {image}:{code.version}: the registry already holds {holds}; published "
        "versions are immutable (commit and tag a new version)"
    )


def push_image(
    buildah: BuildahSession, *, local: str, image: Repository, code: CodeVersion
) -> ImageRef:
    reference = image.tagged(code.version)
    run = buildah.push(local, reference, what=f"registry {image.host}: push", timeout=PUSH_TIMEOUT)
    if not run.ok or not run.out.startswith("sha256:"):
        reason = _push_reason(run.err)
        text = f"registry {image.host}: pushing {reference} failed: {reason}"
        low = reason.lower()
        if "image not known" in low or "does not exist" in low:
            raise CiInputError(f"image {local}: not built on this machine; run 'gitward ci build'")
        if any(w in low for w in ("unauthorized", "authentication required", "denied", "403")):
            raise StoreRefused(text)
        raise StoreUnreachable(text)
    return ImageRef(repository=str(image), tag=code.version, digest=run.out.strip())


def publish_oci_chart(
    registry: Registry,
    *,
    base: Repository,
    chart: PackagedChart,
    code: CodeVersion,
    image: ImageRef,
) -> Published:
    return push_chart(
        registry,
        base=base,
        metadata=chart.metadata,
        tgz=chart.tgz,
        annotations={
            "org.opencontainers.image.title": chart.name,
            "org.opencontainers.image.version": chart.version,
            "org.opencontainers.image.revision": code.commit,
            "org.opencontainers.image.source": code.source,
            # The commit's time, not now: the same chart must give the same manifest.
            "org.opencontainers.image.created": code.commit_time,
            IMAGE: str(image),
        },
    )


def oci_chart_for(
    registry: Registry, *, base: Repository, name: str, code: CodeVersion, image: ImageRef
) -> Published | None:
    """The chart version in the OCI registry if it was built from this commit and image."""
    repo = base.child(name)
    found = registry.manifest(repo, code.version)
    if found is None:
        return None
    notes = found.annotations
    if notes.get(REVISION) != code.commit or notes.get(IMAGE) != str(image):
        return None
    return Published(reference=f"oci://{repo}:{code.version}", digest=found.digest, pushed=False)


def repository_chart_for(
    repo: ChartRepository, *, name: str, code: CodeVersion, image: ImageRef
) -> str | None:
    """Where the chart repository serves this version if its index says it was built from
    this commit and image (the index carries the chart's annotations)."""
    entry = repo.entry(name, code.version)
    notes = entry.get("annotations") if entry is not None else None
    if not isinstance(notes, dict):
        return None
    if notes.get(COMMIT) != code.commit or notes.get(IMAGE) != str(image):
        return None
    return repo.entry_url(name, code.version)


def publish_repository_chart(repo: ChartRepository, *, chart: PackagedChart) -> Uploaded:
    return repo.publish(name=chart.name, version=chart.version, tgz=chart.tgz)


def _push_reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "no output"
    last = lines[-1]
    for prefix in ("Error: ", "error: "):
        last = last.removeprefix(prefix)
    return last[:300]
