"""One ``gitward ci`` run: version → build → push image → package → publish charts.

Each step reports itself (name, duration, what it did) to the caller as it
ends, which the CLI prints as one progress line. The stores are asked first
what they already hold, so an unchanged commit builds nothing and pushes
nothing, and a store that is down or refuses the credentials stops the run
before the build (exit 3, naming the store).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gitward.artifacts.buildah import Buildah, BuildahSession
from gitward.artifacts.credentials import secrets
from gitward.ci.building import BuiltImage, build_image
from gitward.ci.config import load_ci_config
from gitward.ci.errors import CiInputError
from gitward.ci.packaging import ImageRef, PackagedChart, check_chart, package_chart
from gitward.ci.records import BuildRecord, ChartRecord, Step
from gitward.ci.targets import Targets, resolve
from gitward.ci.versioning import CodeVersion, describe
from gitward.errors import ConfigError

if TYPE_CHECKING:
    from gitward.artifacts.chartmuseum import ChartRepository
    from gitward.artifacts.oci import Registry
    from gitward.artifacts.references import Repository

# The HTTP side (httpx and the store clients) is imported by the steps that
# talk to stores: `gitward ci build` needs none of it, and importing it costs
# a noticeable part of a short build.

Progress = Callable[[Step], None]
Echo = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    allow_dirty: bool = False
    build_args: tuple[str, ...] = ()
    destination: Path | None = None  # also write the packaged chart here
    image_digest: str = ""  # package: the image's digest, instead of asking the registry


class _Clock:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.steps: list[Step] = []
        self.started = time.monotonic()

    def done(self, name: str, detail: str, *, changed: bool = True) -> None:
        now = time.monotonic()
        step = Step(name=name, seconds=now - self.started, detail=detail, changed=changed)
        self.started = now
        self.steps.append(step)
        self.progress(step)


def prepare(root: Path, options: Options, clock: _Clock) -> tuple[CodeVersion, Targets]:
    config = load_ci_config(root)
    targets = resolve(root, config, extra_build_args=options.build_args)
    code = describe(root, allow_dirty=options.allow_dirty)
    clock.done(
        "version", f"{code.version} (commit {code.commit[:12]}{', dirty' if code.dirty else ''})"
    )
    return code, targets


def build(root: Path, options: Options, *, progress: Progress, echo: Echo | None) -> BuiltImage:
    """``gitward ci build``: the image in buildah's storage, nothing pushed."""
    clock = _Clock(progress)
    code, targets = prepare(root, options, clock)
    with _buildah(targets) as session:
        built = build_image(session, targets=targets, code=code, echo=echo)
    clock.done("build", f"{built.name} ({built.image_id[:19]})")
    return built


def package(root: Path, options: Options, *, progress: Progress) -> PackagedChart:
    """``gitward ci package``: lint and package the chart for the published image."""
    from gitward.artifacts.oci import Registry
    from gitward.ci.publishing import published_image

    clock = _Clock(progress)
    code, targets = prepare(root, options, clock)
    image = _need_registry(targets)
    if options.image_digest:
        if not options.image_digest.startswith("sha256:"):
            raise ConfigError(f"--image-digest {options.image_digest!r}: expected sha256:<hex>")
        ref = ImageRef(repository=str(image), tag=code.version, digest=options.image_digest)
    else:
        with Registry(targets.registry or image) as registry:
            found = published_image(registry, image=image, code=code)
        if found is None:
            raise CiInputError(
                f"image {image}:{code.version}: not in the registry, so its digest is unknown; "
                "run 'gitward ci' (or pass --image-digest)"
            )
        ref = found
    chart = _package(targets, code, ref, options)
    clock.done("package", f"{chart.name}-{chart.version}.tgz")
    return chart


def publish(
    root: Path, options: Options, *, progress: Progress, echo: Echo | None, build_first: bool
) -> BuildRecord:
    """``gitward ci`` (``build_first``) and ``gitward ci publish`` (the image must be built)."""
    from gitward.artifacts.chartmuseum import ChartRepository
    from gitward.artifacts.oci import Registry
    from gitward.ci.publishing import (
        publish_oci_chart,
        publish_repository_chart,
        published_image,
        push_image,
    )

    clock = _Clock(progress)
    code, targets = prepare(root, options, clock)
    image = _need_registry(targets)
    with ExitStack() as stack:
        registry = stack.enter_context(Registry(targets.registry or image))
        chart_registry = registry
        if targets.oci is not None and targets.oci.host != registry.location.host:
            chart_registry = stack.enter_context(Registry(targets.oci))
        repository = (
            stack.enter_context(ChartRepository(targets.chart_repository))
            if targets.chart_repository
            else None
        )
        # Every store is asked first: one that is down or refuses the
        # credentials stops the run before anything is built.
        existing = published_image(registry, image=image, code=code)
        if repository is not None:
            repository.index()
        if existing is not None and options.destination is None:
            done = _published_for_commit(targets, code, existing, chart_registry, repository)
            if done is not None:
                return _unchanged(clock, code, existing, done)
        # The chart is checked before anything is built or pushed: the digest is
        # not known yet, and nothing in a lint depends on its value.
        check_chart(
            chart_dir=targets.chart_dir,
            label=targets.chart_label,
            code=code,
            image=ImageRef(str(image), code.version, "sha256:" + "0" * 64),
            values=targets.image_values,
        )
        clock.done("lint", f"{targets.chart_label}: helm lint passed")
        session = stack.enter_context(_buildah(targets, registry))
        if existing is not None:
            ref = existing
            clock.done(
                "build", f"skipped: {image}:{code.version} exists for this commit", changed=False
            )
            clock.done("push-image", f"{ref} already published", changed=False)
        else:
            local = targets.local_name(code.version)
            if build_first:
                built = build_image(session, targets=targets, code=code, echo=echo)
                clock.done("build", f"{built.name} ({built.image_id[:19]})")
                local = built.name
            ref = push_image(session, local=local, image=image, code=code)
            clock.done("push-image", f"{ref}")
        chart = _package(targets, code, ref, options, lint=False)
        clock.done("package", f"{chart.name}-{chart.version}.tgz")
        record = ChartRecord(
            name=chart.name, version=chart.version, file=str(chart.path) if chart.path else ""
        )
        if targets.oci is not None:
            published = publish_oci_chart(
                chart_registry, base=targets.oci, chart=chart, code=code, image=ref
            )
            verb = "pushed" if published.pushed else "already published, identical"
            clock.done("publish-oci", f"{published.reference} {verb}", changed=published.pushed)
            record = _with(record, oci=published.reference, digest=published.digest)
        if repository is not None:
            uploaded = publish_repository_chart(repository, chart=chart)
            verb = "uploaded" if uploaded.pushed else "already published, identical"
            clock.done("publish-repository", f"{uploaded.url} {verb}", changed=uploaded.pushed)
            record = _with(record, repository=uploaded.repository, url=uploaded.url)
    return _build_record(code, ref, record, clock)


def _published_for_commit(
    targets: Targets,
    code: CodeVersion,
    image: ImageRef,
    chart_registry: Registry,
    repository: ChartRepository | None,
) -> ChartRecord | None:
    """The chart as every store already has it for this commit and image, else ``None``.

    A chart packaged from the same commit with the same image is the same
    chart (its sources, ``gitward-ci.yaml`` included, are the commit's), so
    the stores' own record of commit and image is enough: nothing is linted,
    packaged or downloaded again. Anything less falls back to the full run,
    which compares content.
    """
    from gitward.ci.publishing import oci_chart_for, repository_chart_for

    if not targets.chart_name:
        return None
    record = ChartRecord(name=targets.chart_name, version=code.version)
    if targets.oci is not None:
        found = oci_chart_for(
            chart_registry, base=targets.oci, name=targets.chart_name, code=code, image=image
        )
        if found is None:
            return None
        record = _with(record, oci=found.reference, digest=found.digest)
    if repository is not None:
        url = repository_chart_for(repository, name=targets.chart_name, code=code, image=image)
        if url is None:
            return None
        record = _with(record, repository=repository.url, url=url)
    return record


def _unchanged(
    clock: _Clock, code: CodeVersion, image: ImageRef, chart: ChartRecord
) -> BuildRecord:
    clock.done(
        "build", f"skipped: {image.repository}:{image.tag} exists for this commit", changed=False
    )
    clock.done("push-image", f"{image} already published", changed=False)
    if chart.oci:
        clock.done("publish-oci", f"{chart.oci} already published for this commit", changed=False)
    if chart.url:
        clock.done(
            "publish-repository", f"{chart.url} already published for this commit", changed=False
        )
    return _build_record(code, image, chart, clock)


def _build_record(
    code: CodeVersion, image: ImageRef, chart: ChartRecord | None, clock: _Clock
) -> BuildRecord:
    return BuildRecord(
        commit=code.commit,
        version=code.version,
        source=code.source,
        dirty=code.dirty,
        image=str(image),
        chart=chart,
        steps=tuple(clock.steps),
    )


def _with(record: ChartRecord, **changes: str) -> ChartRecord:
    return replace(record, **changes)


def _need_registry(targets: Targets) -> Repository:
    image = targets.image
    if image is None:
        raise ConfigError(
            "no registry to publish to: set image.registry in gitward-ci.yaml or GITWARD_REGISTRY"
        )
    return image


def _package(
    targets: Targets, code: CodeVersion, ref: ImageRef, options: Options, *, lint: bool = True
) -> PackagedChart:
    return package_chart(
        chart_dir=targets.chart_dir,
        label=targets.chart_label,
        code=code,
        image=ref,
        values=targets.image_values,
        destination=options.destination,
        lint=lint,
    )


@contextmanager
def _buildah(targets: Targets, registry: Registry | None = None) -> Iterator[BuildahSession]:
    credentials = {}
    if registry is not None and registry.credentials is not None:
        credentials[registry.location.host] = registry.credentials
    with Buildah.from_environment().session(
        registries=targets.stores, credentials=credentials, secrets=secrets()
    ) as session:
        yield session
