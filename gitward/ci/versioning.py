"""The version of a commit, from git alone.

* A SemVer tag ``vX.Y.Z`` on the commit gives ``X.Y.Z`` (the highest, if several).
* Otherwise the version sorts after the last SemVer tag the commit descends
  from and names the commit: ``1.4.3-dev.7.g1a2b3c4`` after ``v1.4.2`` (seven
  commits on), ``2.0.0-rc.1.dev.3.g…`` after ``v2.0.0-rc.1``, and
  ``0.1.0-dev.N.g…`` with no tag at all. The commit goes in a pre-release
  identifier, not in ``+build`` metadata: ``+`` is not allowed in an OCI tag,
  and helm and the registries would then disagree on the name.
* A dirty working tree is refused, unless allowed: then the version also
  names the tree's content (``….dirty.w<tree>``), so two different dirty
  builds never claim one version.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import semver

from gitward.ci.errors import CiInputError
from gitward.errors import SourceError
from gitward.programs import ProgramRun
from gitward.source.git import Git
from gitward.source.urls import source_identity

_TIMEOUT = 30.0


@dataclass(frozen=True)
class CodeVersion:
    commit: str
    version: str
    commit_time: str  # ISO 8601, the committer's date
    source: str  # the repository's origin without credentials, else its file:// path
    tag: str = ""  # the tag the version comes from, "" for a dev build
    dirty: bool = False


def _git(root: Path) -> Git:
    return Git(subject=str(root), timeout=_TIMEOUT)


def describe(root: Path, *, allow_dirty: bool = False) -> CodeVersion:
    """The version of the commit checked out at ``root``; :class:`CiInputError` if none.

    git's calls run side by side (only the count after the last tag waits for
    the tags): each is a process start, and together they were most of a run
    that finds everything published. Their answers are read in order, so a
    directory that is not a repository still says so first.
    """
    git = _git(root)
    with ThreadPoolExecutor(max_workers=5) as pool:

        def start(*args: str) -> Future[ProgramRun]:
            return pool.submit(git.run, *args, directory=root, check=False)

        head = start("rev-parse", "--is-inside-work-tree", "--show-toplevel")
        shown = start("show", "-s", "--format=%H%n%cI", "HEAD")
        status = start("status", "--porcelain")
        tags = pool.submit(_semver_tags, git, root)
        origin = start("remote", "get-url", "origin")
        inside, _, top = head.result().out.strip().partition("\n")
        if not head.result().ok or inside != "true":
            raise CiInputError(f"{root}: not a git working tree; gitward ci versions from git")
        if not shown.result().ok:
            raise CiInputError(f"{root}: has no commit yet; commit before building")
        commit, commit_time = shown.result().out.split()[:2]
        if not status.result().ok:
            git.run("status", "--porcelain", directory=root)  # raises, saying why
        dirty = bool(status.result().out.strip())
        if dirty and not allow_dirty:
            raise CiInputError(
                f"{root}: the working tree has uncommitted changes; commit them "
                "(or pass --allow-dirty to build what is on disk)"
            )
        version, tag = _version(git, root, commit, tags.result())
        source = _source(origin.result(), top)
    if dirty:
        joiner = "." if "-" in version else "-"
        version = f"{version}{joiner}dirty.w{_tree(git, root)[:7]}"
    return CodeVersion(
        commit=commit,
        version=version,
        commit_time=commit_time,
        source=source,
        tag=tag,
        dirty=dirty,
    )


_Tag = tuple[semver.Version, str]  # the parsed version, the tag's name


def _semver_tags(git: Git, root: Path) -> list[tuple[_Tag, list[str]]]:
    """Each SemVer tag HEAD descends from, with the objects it names (one git call)."""
    listed = git.run(
        "for-each-ref",
        "--merged",
        "HEAD",
        "--format=%(refname:strip=2) %(objectname) %(*objectname)",
        "refs/tags/v[0-9]*",
        directory=root,
    ).out.splitlines()
    found: list[tuple[_Tag, list[str]]] = []
    for line in listed:
        tag, *objects = line.split()
        try:
            parsed = (semver.Version.parse(tag[1:]), tag)
        except ValueError:
            continue
        found.append((parsed, objects))
    return found


def _version(
    git: Git, root: Path, commit: str, tags: list[tuple[_Tag, list[str]]]
) -> tuple[str, str]:
    # A lightweight tag names the commit; an annotated one names a tag object
    # whose peeled object is the commit.
    on_head = sorted(parsed for parsed, objects in tags if commit in objects)
    merged = sorted(parsed for parsed, _ in tags)
    if on_head:
        version, tag = on_head[-1]
        return str(version.replace(build=None)), tag
    if merged:
        base, tag = merged[-1]
        count = git.run("rev-list", "--count", f"{tag}..HEAD", directory=root).out.strip()
    else:
        base, tag = semver.Version(0, 0, 0), ""
        count = git.run("rev-list", "--count", "HEAD", directory=root).out.strip()
    marker = f"dev.{int(count)}.g{commit[:7]}"
    base = base.replace(build=None)
    if base.prerelease:
        return str(base.replace(prerelease=f"{base.prerelease}.{marker}")), ""
    after = base.bump_patch() if merged else semver.Version(0, 1, 0)
    return str(after.replace(prerelease=marker)), ""


def _tree(git: Git, root: Path) -> str:
    """The tree the working copy would commit (untracked files too), without touching the index."""
    with tempfile.TemporaryDirectory(prefix="gitward-ci-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git.run("read-tree", "HEAD", directory=root, env=env)
        git.run("add", "-A", directory=root, env=env)
        return git.run("write-tree", directory=root, env=env).out.strip()


def _source(origin: ProgramRun, top: str) -> str:
    if origin.ok and origin.out.strip():
        try:
            return source_identity(origin.out.strip())
        except SourceError:
            pass
    return "file://" + str(Path(top).resolve())
