"""``gitward ci [build|package|publish]``: the build side, from a shell, Jenkins or any CI.

This command holds push credentials for artifact stores and nothing else:
it imports nothing that reads a kubeconfig or talks to an API server (an
import contract and a test keep it so). Progress goes to stderr, one line
per step with its duration; stdout carries only the result (``-o json``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from gitward.cli import output
from gitward.errors import GitwardError

P = ParamSpec("P")
R = TypeVar("R")


def _fail(e: GitwardError, fmt: str) -> NoReturn:
    from gitward.ci.errors import BuildFailed

    code = int(e.exit_code)
    if isinstance(e, BuildFailed) and e.tail:
        click.echo(f"--- last {len(e.tail)} lines of the build log ({e.log}) ---", err=True)
        for line in e.tail:
            click.echo(f"  {line}", err=True)
    if fmt in ("json", "yaml"):
        output.emit({"error": str(e), "exitCode": code}, fmt)
    click.echo(click.style("error: ", fg="red", bold=True) + str(e), err=True)
    sys.exit(code)


def _ci_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except GitwardError as e:
            given = kwargs.get("args")
            _fail(e, given.fmt if isinstance(given, CiArgs) else "table")

    return wrapper


@dataclass(frozen=True)
class CiArgs:
    """What every ``gitward ci`` command is given: the repository and how to build it."""

    repo: Path
    allow_dirty: bool
    build_args: tuple[str, ...]
    verbose: bool
    fmt: str


def _common(fn: Callable[..., R]) -> Callable[..., R]:
    """The options every command shares, given to it as one ``args``."""

    @wraps(fn)
    def bundled(
        *a: Any,
        repo: Path,
        allow_dirty: bool,
        build_args: tuple[str, ...],
        verbose: bool,
        fmt: str,
        **kwargs: Any,
    ) -> R:
        return fn(*a, args=CiArgs(repo, allow_dirty, build_args, verbose, fmt), **kwargs)

    wrapped: Callable[..., R] = bundled
    for option in reversed(
        [
            click.option(
                "--repo",
                "repo",
                default=".",
                show_default=True,
                type=click.Path(file_okay=False, path_type=Path),
                help="The code repository (a git working tree).",
            ),
            click.option(
                "--allow-dirty",
                is_flag=True,
                help="Build uncommitted changes (the version says so).",
            ),
            click.option(
                "--build-arg",
                "build_args",
                multiple=True,
                metavar="NAME=VALUE",
                help="Add or override a build arg of gitward-ci.yaml.",
            ),
            click.option("-v", "--verbose", is_flag=True, help="Stream the image build's log."),
            click.option(
                "-o", "--output", "fmt", type=click.Choice(output.FORMATS), default="table"
            ),
        ]
    ):
        wrapped = option(wrapped)
    return wrapped


def _record_option(fn: Callable[P, R]) -> Callable[P, R]:
    fn = click.option(
        "--destination",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Also keep the packaged chart (.tgz) in this directory.",
    )(fn)
    return click.option(
        "--record",
        "record_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write the build record (JSON) to this file.",
    )(fn)


def _promote_option(fn: Callable[P, R]) -> Callable[P, R]:
    fn = click.option(
        "--split", is_flag=True, help="With several --promote: one pull request per environment."
    )(fn)
    return click.option(
        "--promote",
        "promote",
        multiple=True,
        metavar="ENV",
        help="After publishing, open (or update) the promotion pull request on the config "
        "repository (gitward-ci.yaml promotion:) for ENV (repeatable), as the promoter "
        "(GITWARD_FORGE_TOKEN_PROMOTER).",
    )(fn)


def _progress(step: Any) -> None:
    mark = "" if step.changed else click.style(" (unchanged)", fg="yellow")
    click.echo(f"[ci] {step.name:<19} {step.seconds:7.2f}s  {step.detail}{mark}", err=True)


def _echo(verbose: bool) -> Callable[[str], None] | None:
    return (lambda line: click.echo(f"  | {line}", err=True)) if verbose else None


def _options(args: CiArgs, destination: Path | None = None) -> Any:
    from gitward.ci.pipeline import Options

    return Options(
        allow_dirty=args.allow_dirty, build_args=args.build_args, destination=destination
    )


@click.group(invoke_without_command=True)
@_common
@_record_option
@_promote_option
@click.pass_context
@_ci_errors
def ci(
    ctx: click.Context,
    args: CiArgs,
    record_file: Path | None,
    destination: Path | None,
    promote: tuple[str, ...],
    split: bool,
) -> None:
    """Build, package and publish a code repository: image, then chart (see gitward-ci.yaml).

    Without a subcommand: build → push image → package → publish the chart,
    then print the build record. An unchanged commit builds and pushes nothing.
    With --promote, then open the promotion pull request for the chart.
    """
    # The stores the build side talks to are few requests over HTTP/1.1; not loading
    # the HTTP/2 stack (which httpcore imports whenever h2 is installed, for the
    # deploy side) saves a noticeable part of a run that finds everything published.
    # Nothing in a build-side process speaks HTTP/2 (an import contract keeps the
    # API-server client out), and httpcore expects and handles the failed import.
    sys.modules.setdefault("h2", None)  # type: ignore[arg-type]
    if ctx.invoked_subcommand is not None:
        return
    _publish(args, record_file, destination, build=True, promote=promote, split=split)


def _publish(
    args: CiArgs,
    record_file: Path | None,
    destination: Path | None,
    *,
    build: bool,
    promote: tuple[str, ...] = (),
    split: bool = False,
) -> None:
    from gitward.ci.pipeline import publish
    from gitward.ci.records import write_record

    promotion = None
    if promote:
        # Only with --promote: the forge client and the config-repo side are a large
        # part of a plain publish's start otherwise.
        from gitward.ci.promoting import promotion_for

        promotion = promotion_for(args.repo, promote)
    record = publish(
        args.repo,
        _options(args, destination),
        progress=_progress,
        echo=_echo(args.verbose),
        build_first=build,
    )
    if promotion is not None:
        from gitward.ci.promoting import promote_build

        try:
            record = promote_build(
                record=record,
                promotion=promotion,
                environments=promote,
                split=split,
                access=_promoter(),
                progress=_progress,
            )
        except GitwardError:
            # What was published is recorded all the same: a rerun publishes nothing.
            if record_file is not None:
                write_record(record_file, record)
            raise
    if record_file is not None:
        write_record(record_file, record)
    doc = record.to_dict()
    if args.fmt != "table":
        output.emit(doc, args.fmt)
        return
    click.echo(f"version: {record.version}")
    click.echo(f"commit:  {record.commit}")
    click.echo(f"image:   {record.image}")
    chart = doc["chart"] or {}
    for key in ("oci", "digest", "url"):
        if chart.get(key):
            click.echo(f"chart:   {chart[key]}")
    for p in record.promotions:
        where = ", ".join(p.environments)
        pull = f"#{p.number} {p.url}" if p.number is not None else "already in git"
        click.echo(f"promote: {p.outcome} ({where}) {pull}")
    click.echo(f"total:   {doc['timings']['total']:.2f}s")


def _promoter() -> Any:
    """The promoter's token and forge, from the environment as ``gitward promote`` reads them."""
    import os

    from gitward.ci.promoting import TOKEN_VARIABLE, PromoterAccess

    return PromoterAccess(
        token=os.environ.get(TOKEN_VARIABLE, ""),
        username=os.environ.get("GITWARD_FORGE_USERNAME", "") or "gitward",
        kind=os.environ.get("GITWARD_FORGE", ""),
        url=os.environ.get("GITWARD_FORGE_URL", ""),
        allow_insecure=os.environ.get("GITWARD_ALLOW_INSECURE", "").lower() in ("1", "true"),
    )


@ci.command("build")
@_common
@_ci_errors
def ci_build(args: CiArgs) -> None:
    """Build the image from the Dockerfile with buildah; push nothing."""
    from gitward.ci.pipeline import build

    built = build(args.repo, _options(args), progress=_progress, echo=_echo(args.verbose))
    doc = {"image": built.name, "id": built.image_id, "log": str(built.log)}
    if args.fmt != "table":
        output.emit(doc, args.fmt)
    else:
        click.echo(f"{built.name} {built.image_id}")


@ci.command("package")
@_common
@click.option(
    "--destination",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where the .tgz goes.",
)
@click.option(
    "--image-digest",
    default="",
    metavar="sha256:…",
    help="The image's digest; default: ask the registry for this version's image.",
)
@_ci_errors
def ci_package(
    args: CiArgs,
    destination: Path,
    image_digest: str,
) -> None:
    """helm lint and helm package, with the version and the image's tag and digest set."""
    from dataclasses import replace

    from gitward.ci.pipeline import package

    options = replace(_options(args, destination), image_digest=image_digest)
    chart = package(args.repo, options, progress=_progress)
    doc = {"chart": chart.name, "version": chart.version, "file": str(chart.path)}
    if args.fmt != "table":
        output.emit(doc, args.fmt)
    else:
        click.echo(str(chart.path))


@ci.command("publish")
@_common
@_record_option
@_promote_option
@_ci_errors
def ci_publish(
    args: CiArgs,
    record_file: Path | None,
    destination: Path | None,
    promote: tuple[str, ...],
    split: bool,
) -> None:
    """Push the built image, then package and publish the chart (OCI and chart repository)."""
    _publish(args, record_file, destination, build=False, promote=promote, split=split)
