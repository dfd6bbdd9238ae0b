"""One ``gitward ci`` run: version → build → push image → package → publish charts.

Each step reports itself (name, duration, what it did) to the caller as it
ends, which the CLI prints as one progress line. The stores are asked first
what they already hold, so an unchanged commit builds nothing and pushes
nothing, and a store that is down or refuses the credentials stops the run
before the build (exit 3, naming the store).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager as ContextManager
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitward.artifacts.buildah import Buildah, BuildahSession
from gitward.artifacts.credentials import secrets
from gitward.ci.building import BuiltImage, build_image
from gitward.ci.config import load_ci_config
from gitward.ci.errors import CiInputError
from gitward.ci.packaging import (
    ImageRef,
    PackagedChart,
    PreparedChart,
    chart_key,
    lint_chart,
    linted_before,
    package_prepared,
    placeholder_image,
    prepare_chart,
    prepared_chart,
)
from gitward.ci.records import BuildRecord, ChartRecord
from gitward.ci.steps import Clock, Progress, Timed
from gitward.ci.targets import Targets, resolve
from gitward.ci.versioning import CodeVersion, describe
from gitward.errors import ConfigError

if TYPE_CHECKING:
    from gitward.artifacts.oci import Registry
    from gitward.artifacts.references import Repository

# The HTTP side (httpx and the store clients) is imported by the steps that
# talk to stores: `gitward ci build` needs none of it, and importing it costs
# a noticeable part of a short build.

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    allow_dirty: bool = False
    build_args: tuple[str, ...] = ()
    destination: Path | None = None  # also write the packaged chart here
    image_digest: str = ""  # package: the image's digest, instead of asking the registry


def prepare(root: Path, options: Options, clock: Clock) -> tuple[CodeVersion, Targets]:
    config = load_ci_config(root)
    targets = resolve(root, config, extra_build_args=options.build_args)
    code = describe(root, allow_dirty=options.allow_dirty)
    _versioned(clock, code)
    return code, targets


def _versioned(clock: Clock, code: CodeVersion) -> None:
    dirty = ", dirty" if code.dirty else ""
    clock.done("version", f"{code.version} (commit {code.commit[:12]}{dirty})")


def build(root: Path, options: Options, *, progress: Progress, echo: Echo | None) -> BuiltImage:
    """``gitward ci build``: the image in buildah's storage, nothing pushed; the chart is
    linted beside it (so the ``publish`` that follows need not lint it again)."""
    clock = Clock(progress)
    code, targets = prepare(root, options, clock)
    repository = str(targets.image) if targets.image else f"localhost/{targets.image_name}"
    with ExitStack() as stack:
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gitward-chart-")))
        check = (
            _Check(targets, code, placeholder_image(repository, code), scratch)
            if targets.chart_name
            else None
        )
        session = stack.enter_context(_buildah(targets))
        built, _ = _build_beside_lint(pool, clock, session, check, targets, code, echo)
    return built


class _Check:
    """The chart prepared in ``scratch`` and linted; :meth:`run` gives the prepared
    chart, and whether the lint ran (``False``: this very chart passed before)."""

    def __init__(self, targets: Targets, code: CodeVersion, image: ImageRef, scratch: Path) -> None:
        self.targets, self.code, self.image, self.scratch = targets, code, image, scratch
        self._key = ""

    @property
    def key(self) -> str:
        """What the prepared chart is made from (raises for a chart that cannot be)."""
        if not self._key:
            t = self.targets
            self._key = chart_key(
                chart_dir=t.chart_dir,
                label=t.chart_label,
                code=self.code,
                image=self.image,
                values=t.image_values,
            )
        return self._key

    def run(self) -> tuple[PreparedChart, bool]:
        t = self.targets
        chart = prepare_chart(
            into=self.scratch,
            chart_dir=t.chart_dir,
            label=t.chart_label,
            code=self.code,
            image=self.image,
            values=t.image_values,
            key=self.key,
        )
        return chart, lint_chart(chart)


def _build_beside_lint(
    pool: ThreadPoolExecutor,
    clock: Clock,
    session: BuildahSession,
    check: _Check | None,
    targets: Targets,
    code: CodeVersion,
    echo: Echo | None,
) -> tuple[BuiltImage, PreparedChart | None]:
    """Build the image while the chart is prepared and linted; a failed build is the
    news first, then a chart that failed.

    Nothing is pushed before both are done, so a chart that fails still leaves
    every store as it was.
    """
    checking = Timed(pool, check.run) if check is not None else None
    try:
        built = build_image(session, targets=targets, code=code, echo=echo)
    finally:
        if checking is not None:
            checking.error()  # waits for it
    chart = None
    if checking is not None:
        chart, ran = checking.result()  # raises the chart's error
        clock.beside(
            "lint", checking.seconds, _linted(chart, ran) + " (beside the build)", changed=ran
        )
    clock.done("build", f"{built.name} ({built.image_id[:19]})")
    return built, chart


def _push_beside_lint(
    pool: ThreadPoolExecutor,
    clock: Clock,
    session: BuildahSession,
    check: _Check,
    local: str,
    image: Repository,
    code: CodeVersion,
) -> tuple[ImageRef, PreparedChart]:
    """Push the built image; the chart is linted first, or, when this very chart passed
    before (the ``build`` linted it), taken from that pass while the image goes up."""
    from gitward.ci.publishing import push_image

    def push() -> ImageRef:
        return push_image(session, local=local, image=image, code=code)

    if not linted_before(check.key):
        prepared, ran = check.run()
        clock.done("lint", _linted(prepared, ran), changed=ran)
        ref = push()
        clock.done("push-image", f"{ref}")
        return ref, prepared
    pushing = Timed(pool, push)
    try:
        prepared, ran = check.run()
        preparing = clock.elapsed
    finally:
        pushing.error()  # waits for it
    ref = pushing.result()
    clock.beside("lint", preparing, _linted(prepared, ran) + " (beside the push)", changed=ran)
    clock.done("push-image", f"{ref}")
    return ref, prepared


def _linted(chart: PreparedChart, ran: bool) -> str:
    return f"{chart.label}: helm lint passed" + ("" if ran else " (this chart, before)")


def package(root: Path, options: Options, *, progress: Progress) -> PackagedChart:
    """``gitward ci package``: lint and package the chart for the published image."""
    from gitward.artifacts.oci import Registry
    from gitward.ci.publishing import published_image

    clock = Clock(progress)
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
    with _prepared(targets, code, placeholder_image(str(image), code)) as prepared:
        lint_chart(prepared)
        chart = package_prepared(
            prepared, image=ref, version=code.version, destination=options.destination
        )
    clock.done("package", f"{chart.name}-{chart.version}.tgz")
    return chart


def publish(
    root: Path, options: Options, *, progress: Progress, echo: Echo | None, build_first: bool
) -> BuildRecord:
    """``gitward ci`` (``build_first``) and ``gitward ci publish`` (the image must be built)."""
    clock = Clock(progress)
    with ExitStack() as stack:
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=3))
        # git works out the version while this thread reads the config, loads the
        # HTTP side and asks the chart repository for its index.
        describing = pool.submit(describe, root, allow_dirty=options.allow_dirty)
        targets = resolve(root, load_ci_config(root), extra_build_args=options.build_args)
        image = _need_registry(targets)
        from gitward.artifacts.chartmuseum import ChartRepository
        from gitward.artifacts.oci import Registry
        from gitward.ci.publishing import (
            publish_charts,
            published_for_commit,
            published_image,
            push_image,
        )

        registry = stack.enter_context(Registry(targets.registry or image))
        chart_registry = registry
        if targets.oci is not None and targets.oci.host != registry.location.host:
            chart_registry = stack.enter_context(Registry(targets.oci))
        repository = (
            stack.enter_context(ChartRepository(targets.chart_repository))
            if targets.chart_repository
            else None
        )
        # Every store is asked first (the chart repository's index beside the
        # registry): one that is down or refuses the credentials stops the run
        # before anything is built.
        index = Timed(pool, repository.index) if repository is not None else None
        try:
            code = describing.result()
            _versioned(clock, code)
            existing = published_image(registry, image=image, code=code)
        finally:
            if index is not None:
                index.error()  # waits for it
        if index is not None:
            index.result()
        if existing is not None and options.destination is None:
            done = published_for_commit(
                targets=targets,
                code=code,
                image=existing,
                registry=chart_registry,
                repository=repository,
            )
            if done is not None:
                return _unchanged(clock, code, existing, done)
        # The chart is checked before anything is pushed: prepared with a stand-in
        # for the digest, which is not known yet and which nothing in a lint reads.
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gitward-chart-")))
        check = _Check(targets, code, placeholder_image(str(image), code), scratch)
        session = stack.enter_context(_buildah(targets, registry))
        prepared: PreparedChart | None = None
        if existing is not None:
            ref = existing
            prepared, ran = check.run()
            clock.done("lint", _linted(prepared, ran), changed=ran)
            clock.done(
                "build", f"skipped: {image}:{code.version} exists for this commit", changed=False
            )
            clock.done("push-image", f"{ref} already published", changed=False)
        elif build_first:
            built, prepared = _build_beside_lint(pool, clock, session, check, targets, code, echo)
            ref = push_image(session, local=built.name, image=image, code=code)
            clock.done("push-image", f"{ref}")
        else:
            local = targets.local_name(code.version)
            ref, prepared = _push_beside_lint(pool, clock, session, check, local, image, code)
        assert prepared is not None  # checked on every path above
        chart = package_prepared(
            prepared, image=ref, version=code.version, destination=options.destination
        )
        clock.done("package", f"{chart.name}-{chart.version}.tgz")
        record = publish_charts(
            pool,
            clock,
            targets=targets,
            code=code,
            image=ref,
            chart=chart,
            registry=chart_registry,
            repository=repository,
        )
    return _build_record(code, ref, record, clock)


def _unchanged(clock: Clock, code: CodeVersion, image: ImageRef, chart: ChartRecord) -> BuildRecord:
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
    code: CodeVersion, image: ImageRef, chart: ChartRecord | None, clock: Clock
) -> BuildRecord:
    return BuildRecord(
        total=clock.total,
        commit=code.commit,
        version=code.version,
        source=code.source,
        dirty=code.dirty,
        image=str(image),
        chart=chart,
        steps=tuple(clock.steps),
    )


def _need_registry(targets: Targets) -> Repository:
    image = targets.image
    if image is None:
        raise ConfigError(
            "no registry to publish to: set image.registry in gitward-ci.yaml or GITWARD_REGISTRY"
        )
    return image


def _prepared(
    targets: Targets, code: CodeVersion, image: ImageRef
) -> ContextManager[PreparedChart]:
    return prepared_chart(
        chart_dir=targets.chart_dir,
        label=targets.chart_label,
        code=code,
        image=image,
        values=targets.image_values,
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
