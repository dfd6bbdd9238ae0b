"""The config repository clone a promotion works in, through git and nothing else.

The user's clone is only read and fetched into: the change is made in a
temporary worktree of it, detached at the fetched base branch, then pushed
to a branch of its own. So a promotion never touches the user's checked-out
files, and never builds on local commits that are not on the forge.

Pushing a pull request branch uses ``--force-with-lease`` on the SHA read just
before: the branch is gitward's, so it is rewritten on every promotion, but
never over a push someone made in between (that is "the branch moved").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitward.errors import SourceError
from gitward.promote.errors import PromoteInputError
from gitward.source.credentials import GitCredentials, access_for
from gitward.source.git import Git
from gitward.source.urls import parse_url

_REMOTE = "refs/remotes/gitward-origin"


@dataclass(frozen=True)
class Identity:
    """Who commits: the promoter, not whoever runs the command."""

    name: str
    email: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


class Clone:
    """A local clone whose ``origin`` is the config repository on the forge."""

    def __init__(self, *, path: Path, credentials: GitCredentials, timeout: float = 120.0) -> None:
        self.path = path.resolve()
        probe = Git(subject=str(self.path), timeout=timeout)
        found = probe.run("config", "--get", "remote.origin.url", directory=self.path, check=False)
        origin = found.out.strip()
        if not found.ok or not origin:
            raise PromoteInputError(
                f"{self.path}: not a clone of the config repository (no remote 'origin')"
            )
        url = parse_url(origin)
        self.origin = url.display
        self.origin_url = url.for_git
        access = access_for(credentials, url)
        self._git = Git(
            subject=url.display,
            timeout=timeout,
            config=access.config,
            env=access.env,
            secrets=access.secrets,
        )

    @classmethod
    @contextlib.contextmanager
    def scratch(
        cls, url: str, *, credentials: GitCredentials, timeout: float = 120.0
    ) -> Iterator[Clone]:
        """An empty clone of ``url`` in a temporary directory, removed afterwards.

        For a promotion from where there is no clone of the config repository
        (``gitward ci --promote``): :meth:`fetch` brings in just the branches
        the promotion reads.
        """
        scratch = Path(tempfile.mkdtemp(prefix="gitward-config-"))
        try:
            git = Git(subject=parse_url(url).display, timeout=timeout)
            git.run("init", "--quiet", directory=scratch)
            git.run("remote", "add", "origin", url, directory=scratch)
            yield cls(path=scratch, credentials=credentials, timeout=timeout)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @classmethod
    def private(
        cls, *, path: Path, origin: str, credentials: GitCredentials, timeout: float = 120.0
    ) -> Clone:
        """A bare clone of ``origin`` of gitward's own at ``path``, made when missing.

        For a rollback the controller opens: it has no person's clone, and
        its cache of the config repository is only ever fetched into.
        """
        if not (path / "HEAD").is_file():
            path.mkdir(parents=True, exist_ok=True)
            git = Git(subject=str(path), timeout=timeout)
            git.run("init", "--bare", "--quiet", str(path))
            git.run("config", "remote.origin.url", parse_url(origin).display, directory=path)
        return cls(path=path, credentials=credentials, timeout=timeout)

    def run(self, *args: str, tree: Path | None = None, check: bool = True) -> str:
        env = None
        return self._git.run(*args, directory=tree or self.path, env=env, check=check).out

    def fetch(self, branch: str) -> str | None:
        """Fetch ``branch`` from origin; its SHA there, ``None`` if origin has no such branch."""
        result = self._git.run(
            "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.origin_url,
            f"+refs/heads/{branch}:{_REMOTE}/{branch}",
            directory=self.path, check=False,
        )  # fmt: skip
        if not result.ok:
            reason = self._git.reason(result)
            if "couldn't find remote ref" in reason:
                return None
            raise SourceError(f"{self.origin}: git fetch {branch} failed: {reason}")
        return self.run("rev-parse", f"{_REMOTE}/{branch}").strip()

    def has_commit(self, sha: str) -> bool:
        result = self._git.run(
            "cat-file", "-e", f"{sha}^{{commit}}", directory=self.path, check=False
        )
        return result.ok

    def fetch_commit(self, sha: str) -> None:
        if not self.has_commit(sha):
            self._git.run(
                "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.origin_url, sha,
                directory=self.path,
            )  # fmt: skip

    @contextlib.contextmanager
    def worktree(self, sha: str) -> Iterator[Path]:
        """A temporary worktree detached at ``sha``, removed afterwards."""
        scratch = Path(tempfile.mkdtemp(prefix="gitward-promote-"))
        tree = scratch / "tree"
        self.run("worktree", "add", "--quiet", "--detach", str(tree), sha)
        try:
            yield tree
        finally:
            self.run("worktree", "remove", "--force", str(tree), check=False)
            shutil.rmtree(scratch, ignore_errors=True)
            self.run("worktree", "prune", check=False)

    def commit(self, tree: Path, *, message: str, author: Identity) -> str | None:
        """Commit everything changed in ``tree``; its SHA, or ``None`` when nothing changed."""
        self.run("add", "--all", tree=tree)
        if self._git.run("diff", "--cached", "--quiet", directory=tree, check=False).ok:
            return None
        self._git.run(
            "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message,
            directory=tree, env=author.env,
        )  # fmt: skip
        return self.run("rev-parse", "HEAD", tree=tree).strip()

    def same_change(self, ours: str, theirs: str) -> bool:
        """Whether two commits have the same tree and the same parent."""
        mine = self.run("rev-parse", f"{ours}^{{tree}}", f"{ours}^").split()
        other = self._git.run(
            "rev-parse", f"{theirs}^{{tree}}", f"{theirs}^", directory=self.path, check=False
        )
        return other.ok and other.out.split() == mine

    def push(self, tree: Path, *, branch: str, lease: str | None) -> bool:
        """Push HEAD of ``tree`` to ``branch`` unless it moved from ``lease``; False if it did."""
        expect = lease or ""
        result = self._git.run(
            "push", "--quiet", "--porcelain", f"--force-with-lease=refs/heads/{branch}:{expect}",
            self.origin_url, f"HEAD:refs/heads/{branch}",
            directory=tree, check=False,
        )  # fmt: skip
        if result.ok:
            return True
        text = result.out + result.err
        if "stale info" in text or "fetch first" in text or "non-fast-forward" in text:
            return False
        raise SourceError(f"{self.origin}: git push {branch} failed: {self._git.reason(result)}")

    def file_at(self, ref: str, path: str) -> str | None:
        """``path`` as committed at ``ref``, if it is there."""
        result = self._git.run("show", f"{ref}:{path}", directory=self.path, check=False)
        return result.out if result.ok else None

    def changed_files(self, tree: Path) -> tuple[str, ...]:
        out = self.run("diff", "--name-only", "-z", "HEAD~1", "HEAD", tree=tree)
        return tuple(sorted(p for p in out.split("\0") if p))

    def files_differ(self, old: str, new: str, paths: tuple[str, ...]) -> tuple[str, ...]:
        out = self.run("diff", "--name-only", "-z", "--no-renames", old, new, "--", *paths)
        return tuple(sorted(p for p in out.split("\0") if p))

    def apply_three_way(
        self, tree: Path, *, old: str, new: str, paths: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Apply the change ``old``→``new`` to ``paths`` on top of ``tree``'s HEAD, 3-way.

        The files that conflict (empty when it applied cleanly); their conflict
        markers are left in ``tree``.
        """
        patch = self._git.run(
            "diff", "--binary", "--no-renames", "--full-index", old, new, "--", *paths,
            directory=self.path,
        ).stdout  # fmt: skip
        if not patch.strip():
            return ()
        fd, name = tempfile.mkstemp(prefix="gitward-rollback-", suffix=".patch")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(patch)
            result = self._git.run("apply", "--3way", "--index", name, directory=tree, check=False)
        finally:
            os.unlink(name)
        if result.ok:
            return ()
        unmerged = self.run("diff", "--name-only", "--diff-filter=U", tree=tree).split()
        if unmerged:
            return tuple(sorted(set(unmerged)))
        raise SourceError(f"{self.origin}: git apply failed: {self._git.reason(result)}")
