"""The dev base image: a small Debian, built from the apt mirror, seeded into the dev registry.

There is no Docker Hub here, so code repositories build on an image made
from Debian's own packages: ``mmdebstrap --variant=essential`` (the
essential set plus what ``INCLUDE`` names: Python, CA certificates, and apt
so a Dockerfile can add packages) writes a root file system as a tarball,
which is cached on disk (building it takes tens of seconds; reusing it,
none), imported with buildah and pushed to the dev registry. Each step is
skipped when its result is already there, so ``gitward dev base-image`` is
cheap to call again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitward.artifacts.buildah import Buildah, BuildahSession
from gitward.artifacts.oci import Registry
from gitward.artifacts.references import Repository, parse_location
from gitward.errors import GitwardError, ToolError
from gitward.programs import MMDEBSTRAP, first_error_line, run_program
from gitward.tools import cache_root, find_tool

SUITE = "bookworm"
INCLUDE = ("python3", "ca-certificates", "apt")
NAME = "gitward/base"
TAG = f"{SUITE}-python3"
# What the image holds, as an annotation and as its name in buildah's storage:
# a base made from another package list is another image, never reused.
_CONTENT = f"debian-{SUITE}-{'-'.join(INCLUDE)}"
_CONTENT_KEY = "dev.gitward.base.content"
# Documentation, manual pages and translations are most of a minimal image's size.
_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")


class BaseImageError(GitwardError):
    exit_code = 3


@dataclass(frozen=True)
class Seeded:
    reference: str  # host:port/gitward/base:bookworm-python3
    digest: str
    built_rootfs: bool  # mmdebstrap ran (no cached tarball)
    pushed: bool  # False: the registry had it already


def reference(registry: str) -> str:
    """The base image's name in ``registry`` (``host:port``)."""
    return f"{registry}/{NAME}:{TAG}"


def rootfs_tarball() -> Path:
    return cache_root() / "base" / f"{_CONTENT}.tar"


def seed(registry: str) -> Seeded:
    """Make sure ``registry`` holds the base image; build and push only what is missing."""
    repo = parse_location(registry, subject="registry").child(NAME)
    with Registry(Repository(repo.host, "")) as client:
        found = client.manifest(repo, TAG)
        if found is not None and found.annotations.get(_CONTENT_KEY) == _CONTENT:
            return Seeded(reference(registry), found.digest, built_rootfs=False, pushed=False)
    tarball = rootfs_tarball()
    built = not tarball.exists()
    if built:
        _mmdebstrap(tarball)
    buildah = Buildah.from_environment()
    name = reference(registry)
    local = f"localhost/gitward-base:{_CONTENT}"
    with buildah.session(registries=(repo.host,)) as session:
        if not session.run(
            "inspect", "--type", "image", local, what="buildah inspect", timeout=60
        ).ok:
            _import(session, tarball, local)
        pushed = session.push(local, name, what=f"registry {repo.host}: push", timeout=600)
    if not pushed.ok or not pushed.out.startswith("sha256:"):
        raise BaseImageError(
            f"registry {repo.host}: pushing {name} failed: {first_error_line(pushed.err)}"
        )
    return Seeded(name, pushed.out.strip(), built_rootfs=built, pushed=True)


def _mmdebstrap(tarball: Path) -> None:
    try:
        binary = find_tool("mmdebstrap")
    except ToolError as e:
        raise ToolError("mmdebstrap: not installed; run scripts/setup") from e
    tarball.parent.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_suffix(".partial")
    argv = [
        str(binary),
        "--variant=essential",
        "--include=" + ",".join(INCLUDE),
        "--format=tar",
        "--quiet",
        *(f"--dpkgopt=path-exclude={p}" for p in _EXCLUDES),
        SUITE,
        str(partial),
    ]
    if mirror := os.environ.get("GITWARD_APT_MIRROR"):
        argv.append(mirror)
    run = run_program(
        MMDEBSTRAP, argv, what="base image: mmdebstrap", timeout=900, failure=BaseImageError
    )
    if not run.ok:
        partial.unlink(missing_ok=True)
        raise BaseImageError(f"base image: mmdebstrap failed: {first_error_line(run.err)}")
    partial.rename(tarball)


def _import(session: BuildahSession, tarball: Path, name: str) -> None:
    made = session.run("from", "--quiet", "scratch", what="buildah from scratch", timeout=60)
    if not made.ok:
        raise BaseImageError(f"base image: buildah from scratch: {first_error_line(made.err)}")
    container = made.out.strip()
    try:
        for args in (
            ("add", "--quiet", container, str(tarball), "/"),
            ("config", "--cmd", "/bin/sh", "--env", "LANG=C.UTF-8", container),
            ("config", "--annotation", f"{_CONTENT_KEY}={_CONTENT}", container),
            ("commit", "--quiet", "--format", "oci", container, name),
        ):
            run = session.run(*args, what=f"buildah {args[0]}", timeout=600)
            if not run.ok:
                raise BaseImageError(
                    f"base image: buildah {args[0]} failed: {first_error_line(run.err)}"
                )
    finally:
        session.run("rm", container, what="buildah rm", timeout=60)
