"""``--repo``/``--revision`` to a directory of config files and the revision it holds.

A local directory without a revision is used as it is on disk, so ``gitward
diff`` shows uncommitted edits before they are pushed; its revision is HEAD's
(with ``-dirty`` when the tree has changes). Anything else is fetched through
:class:`~gitward.source.GitSource` and checked out at the asked revision (the
remote's HEAD when none is given).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gitward.errors import GitwardError
from gitward.source.commits import Commits
from gitward.source.credentials import GitCredentials
from gitward.source.fetching import GitSource
from gitward.source.git import Git
from gitward.source.revisions import Revision
from gitward.source.urls import source_identity

_NO_REVISION = Revision(
    sha="", ref="", author="", subject="", committed_at=datetime.fromtimestamp(0, UTC)
)


def credentials_from_env() -> GitCredentials:
    key = os.environ.get("GITWARD_GIT_SSH_KEY")
    return GitCredentials(
        token=os.environ.get("GITWARD_GIT_TOKEN") or None,
        ssh_key=Path(key) if key else None,
        username=os.environ.get("GITWARD_GIT_USERNAME", "git"),
        allow_insecure=os.environ.get("GITWARD_ALLOW_INSECURE", "").lower() in ("1", "true"),
    )


@dataclass(frozen=True)
class Opened:
    """A config repository on disk: its files, the commit they are, and its commit graph."""

    root: Path
    revision: Revision
    commits: Commits


def open_source(*, repo: str, revision: str | None) -> Opened:
    local = Path(repo)
    if revision is None and "://" not in repo and local.is_dir():
        root = local.resolve()
        commits = Commits(git=Git(subject=str(root), timeout=60), directory=root)
        return Opened(root=root, revision=_working_tree_revision(local), commits=commits)
    url = str(local.resolve()) if "://" not in repo and local.is_dir() else repo
    source = GitSource(url=url, credentials=credentials_from_env())
    checkout = source.checkout(revision or "HEAD")
    return Opened(root=checkout.path, revision=checkout.revision, commits=source.commits())


def source_of(repo: str) -> str:
    """The source an app from ``repo`` is identified by (see gitward.config.identity).

    A working copy is identified by the repository it was cloned from, not
    by where it sits: a CI job checks out into a new directory on every run,
    and each run must still be the same source.
    """
    local = Path(repo)
    if "://" not in repo and local.is_dir():
        origin = _git(local, "config", "--get", "remote.origin.url")
        if origin:
            return source_identity(origin)
    return source_identity(repo)


def _git(path: Path, *args: str) -> str | None:
    """``git -C path args...`` output, or ``None`` when git fails (not a repository, say)."""
    try:
        run = Git(subject=str(path), timeout=30).run(*args, directory=path, check=False)
    except GitwardError:
        return None
    return run.out.strip() if run.ok else None


def _working_tree_revision(path: Path) -> Revision:
    line = _git(path, "log", "-1", "--format=%H%x00%an <%ae>%x00%s%x00%cI")
    if not line:
        return _NO_REVISION
    sha, author, subject, when = line.split("\0")
    dirty = bool(_git(path, "status", "--porcelain"))
    return Revision(
        sha=sha + ("-dirty" if dirty else ""),
        ref="working tree",
        author=author,
        subject=subject,
        committed_at=datetime.fromisoformat(when),
    )
