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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from gitward.artifacts.buildah import BuildahSession
from gitward.artifacts.chartmuseum import ChartRepository, Uploaded
from gitward.artifacts.errors import StoreRefused, StoreUnreachable, VersionConflict
from gitward.artifacts.oci import Registry
from gitward.artifacts.ocicharts import Published, push_chart
from gitward.artifacts.references import Repository
from gitward.ci.errors import CiInputError
from gitward.ci.packaging import COMMIT, IMAGE, ImageRef, PackagedChart
from gitward.ci.records import ChartRecord
from gitward.ci.steps import Clock, Timed
from gitward.ci.targets import Targets
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


@dataclass(frozen=True)
class _Stored:
    """A chart as one chart store holds it after a publish."""

    where: str  # the chart's reference or URL there
    pushed: bool  # False: it was there already, identical
    fields: dict[str, str]  # what the build record says of it


def publish_charts(
    pool: ThreadPoolExecutor,
    clock: Clock,
    *,
    targets: Targets,
    code: CodeVersion,
    image: ImageRef,
    chart: PackagedChart,
    registry: Registry,
    repository: ChartRepository | None,
) -> ChartRecord:
    """The chart to both chart stores at once (the image is already in its registry),
    each reported as a step of its own."""
    oci = targets.oci

    def to_oci() -> _Stored:
        assert oci is not None
        done = publish_oci_chart(registry, base=oci, chart=chart, code=code, image=image)
        fields = {"oci": done.reference, "digest": done.digest}
        return _Stored(where=done.reference, pushed=done.pushed, fields=fields)

    def to_repository() -> _Stored:
        assert repository is not None
        done = publish_repository_chart(repository, chart=chart)
        fields = {"repository": done.repository, "url": done.url}
        return _Stored(where=done.url, pushed=done.pushed, fields=fields)

    jobs = [
        (step, verb, Timed(pool, job))
        for step, verb, job, wanted in (
            ("publish-oci", "pushed", to_oci, oci is not None),
            ("publish-repository", "uploaded", to_repository, repository is not None),
        )
        if wanted
    ]
    for _, _, running in jobs:
        running.error()  # waits for every store before any one's error is raised
    record = ChartRecord(
        name=chart.name, version=chart.version, file=str(chart.path) if chart.path else ""
    )
    for step, verb, running in jobs:
        stored = running.result()
        said = verb if stored.pushed else "already published, identical"
        clock.beside(step, running.seconds, f"{stored.where} {said}", changed=stored.pushed)
        record = replace(record, **stored.fields)
    clock.mark()
    return record


def published_for_commit(
    *,
    targets: Targets,
    code: CodeVersion,
    image: ImageRef,
    registry: Registry,
    repository: ChartRepository | None,
) -> ChartRecord | None:
    """The chart as every store already has it for this commit and image, else ``None``.

    A chart packaged from the same commit with the same image is the same
    chart (its sources, ``gitward-ci.yaml`` included, are the commit's), so
    the stores' own record of commit and image is enough: nothing is linted,
    packaged or downloaded again. Anything less falls back to the full run,
    which compares content.
    """
    if not targets.chart_name:
        return None
    record = ChartRecord(name=targets.chart_name, version=code.version)
    if targets.oci is not None:
        found = oci_chart_for(
            registry, base=targets.oci, name=targets.chart_name, code=code, image=image
        )
        if found is None:
            return None
        record = replace(record, oci=found.reference, digest=found.digest)
    if repository is not None:
        url = repository_chart_for(repository, name=targets.chart_name, code=code, image=image)
        if url is None:
            return None
        record = replace(record, repository=repository.url, url=url)
    return record


def _push_reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "no output"
    last = lines[-1]
    for prefix in ("Error: ", "error: "):
        last = last.removeprefix(prefix)
    return last[:300]
