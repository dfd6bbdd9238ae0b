"""Fetching a config repository into a local cache, and saying what a ref means now.

Each repository gets one cache directory, named by a hash of its token-free URL::

    <cache>/git/<key>/repo.git      bare repository; refs/heads and refs/tags mirror the remote
    <cache>/git/<key>/trees/<sha>   the files of one commit (see :mod:`.checkouts`)
    <cache>/git/<key>/lock          serialises fetches between processes

The repository is bare because nothing should ever be edited in it: there is
no working tree to get dirty or half-updated, and a fetch only transfers the
objects it does not have yet. Files live apart, one immutable tree per commit,
so a controller can render one revision while a fetch moves the branches.
No remote is configured: the URL is given to each fetch, so it is never
written into the repository's config.

A ref may be, tried in this order:

1. a full 40-hex SHA -- no network at all if the commit is cached; otherwise a
   fetch, then a fetch of that one commit (it may be on no branch any more);
2. ``HEAD`` -- the remote's default branch;
3. ``refs/...`` -- exactly that ref; refs outside heads and tags (such as
   ``refs/pull/7/head``) are fetched on demand, every time (they move);
4. a branch name, then a tag name;
5. an abbreviated SHA of a fetched commit.

Revision syntax (``main~1``, ``@{u}``) is refused, so user input is never
read as an expression or an option.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from gitward.errors import SourceError
from gitward.source.checkouts import materialise, prune
from gitward.source.commits import Commits
from gitward.source.credentials import GitCredentials, access_for
from gitward.source.git import Git
from gitward.source.revisions import Checkout, Revision
from gitward.source.urls import parse_url
from gitward.tools import cache_root

_FULL_SHA = re.compile(r"[0-9a-f]{40}")
_SHORT_SHA = re.compile(r"[0-9a-f]{4,39}")

# What a fetch mirrors. --prune drops local refs the remote deleted, but only
# within these, so commits fetched by SHA (refs/gitward/...) stay.
_MIRRORED = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
_FETCH = ("fetch", "--quiet", "--no-tags", "--no-write-fetch-head")

_COMMIT_FORMAT = "%H%x00%an%x00%ae%x00%cI%x00%s"


class GitSource:
    """A config repository, fetched on demand into a cache shared by all callers."""

    def __init__(
        self,
        *,
        url: str,
        credentials: GitCredentials | None = None,
        cache_dir: Path | None = None,
        timeout: float = 120.0,
    ) -> None:
        self._url = parse_url(url)
        self._credentials = credentials or GitCredentials()
        access = access_for(self._credentials, self._url)
        self._git = Git(
            subject=self._url.display,
            timeout=timeout,
            config=access.config,
            env=access.env,
            secrets=access.secrets,
        )
        base = cache_dir if cache_dir is not None else cache_root() / "git"
        self.cache_path: Path = base / self._url.key

    def __repr__(self) -> str:
        return f"GitSource(url={self.url!r})"

    @property
    def url(self) -> str:
        """The repository URL as shown to people: without any password."""
        return self._url.display

    def resolve(self, ref: str) -> Revision:
        """Fetch as needed and return the commit ``ref`` names now."""
        return self._describe(self._resolve_sha(ref), ref)

    def checkout(self, ref: str) -> Checkout:
        """Resolve ``ref`` and return a read-only tree of its files."""
        revision = self.resolve(ref)
        path = materialise(self._git, repo=self._repo, trees=self._trees, sha=revision.sha)
        return Checkout(path=path, revision=revision)

    def commits(self) -> Commits:
        """The commit graph of the cache (no fetch): ranges and signatures."""
        return Commits(git=self._git, git_dir=self._repo)

    def prune_trees(self, keep: int) -> tuple[str, ...]:
        """Keep the ``keep`` most recently used trees; return the SHAs removed."""
        return prune(self._trees, keep=keep)

    def merge_base(self, one: str, other: str) -> str:
        """The best common ancestor of two commits (what a pull request's change starts from)."""
        first, second = self._resolve_sha(one), self._resolve_sha(other)
        result = self._git.run("merge-base", first, second, git_dir=self._repo, check=False)
        if not result.ok:
            raise SourceError(f"{self.url}: {first[:12]} and {second[:12]} share no history")
        return result.out.strip()

    def changed_paths(self, old_sha: str, new_sha: str) -> frozenset[str]:
        """Paths added, modified or deleted between two commits.

        A rename counts as both its old and its new path, so an app whose files
        moved away is reconciled too.
        """
        old = self._resolve_sha(old_sha)
        new = self._resolve_sha(new_sha)
        result = self._git.run(
            "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", old, new, "--",
            git_dir=self._repo,
        )  # fmt: skip
        return frozenset(os.fsdecode(p) for p in result.stdout.split(b"\0") if p)

    @property
    def _repo(self) -> Path:
        return self.cache_path / "repo.git"

    @property
    def _trees(self) -> Path:
        return self.cache_path / "trees"

    def _resolve_sha(self, ref: str) -> str:
        if _FULL_SHA.fullmatch(ref.lower()):
            return self._commit_by_sha(ref.lower(), ref)
        if ref == "HEAD":
            self._fetch()
            sha = self._fetch_one("HEAD", "refs/gitward/HEAD")
        elif not self._is_ref_name(ref):
            raise SourceError(
                f"{self.url}: revision {ref!r} is not a branch, tag, refs/ name or commit SHA"
            )
        elif ref.startswith("refs/") and not _is_mirrored(ref):
            # Not mirrored, so fetched each time: a pull request's head moves too.
            self._fetch()
            sha = self._fetch_one(ref, ref)
        else:
            self._fetch()
            sha = self._find(ref)
        if sha is None:
            raise self._not_found(ref)
        return sha

    def _commit_by_sha(self, sha: str, ref: str) -> str:
        found = self._peel(sha)
        if found is None:
            self._fetch()
            found = self._peel(sha) or self._fetch_one(sha, f"refs/gitward/commits/{sha}")
        if found is None:
            raise self._not_found(ref)
        return found

    def _fetch(self) -> None:
        """Bring branches and tags up to date with the remote."""
        with self._locked():
            if not (self._repo / "HEAD").is_file():
                self._git.run("init", "--bare", "--quiet", str(self._repo))
            key = self._credentials.ssh_key
            if self._url.transport == "ssh" and key is not None and not key.is_file():
                raise SourceError(f"{self.url}: ssh key {key} not found")
            self._git.run(
                *_FETCH, "--prune", "--end-of-options", self._url.for_git, *_MIRRORED,
                git_dir=self._repo,
            )  # fmt: skip

    def _fetch_one(self, remote_ref: str, local_ref: str) -> str | None:
        """Fetch one ref or commit the mirror does not cover; ``None`` if the remote lacks it."""
        with self._locked():
            result = self._git.run(
                *_FETCH, "--end-of-options", self._url.for_git, f"+{remote_ref}:{local_ref}",
                git_dir=self._repo, check=False,
            )  # fmt: skip
        return self._peel(local_ref) if result.returncode == 0 else None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.cache_path.mkdir(parents=True, exist_ok=True)
        with open(self.cache_path / "lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _find(self, ref: str) -> str | None:
        """The commit of a fetched branch, tag, ``refs/`` name or abbreviated SHA."""
        listing = self._git.run(
            "for-each-ref", "--format=%(objectname) %(refname)", git_dir=self._repo
        )
        refs: dict[str, str] = {}
        for line in listing.stdout.decode().splitlines():
            oid, _, name = line.partition(" ")
            refs[name] = oid
        names = [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}"]
        for name in names:
            if name in refs:
                return self._peel(refs[name])
        if _SHORT_SHA.fullmatch(ref):
            result = self._git.run(
                "rev-parse", "--verify", f"{ref}^{{commit}}", git_dir=self._repo, check=False
            )
            if b"is ambiguous" in result.stderr:
                raise SourceError(
                    f"{self.url}: revision {ref!r} is ambiguous; give more of the SHA"
                )
            if result.returncode == 0:
                return result.stdout.decode().strip()
        return None

    def _peel(self, name: str) -> str | None:
        """The commit ``name`` (an object id or a full ref name) points to, if cached."""
        if not (self._repo / "HEAD").is_file():
            return None
        result = self._git.run(
            "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}",
            git_dir=self._repo, check=False,
        )  # fmt: skip
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def _is_ref_name(self, ref: str) -> bool:
        if not ref or ref.startswith("-"):
            return False
        result = self._git.run("check-ref-format", "--allow-onelevel", ref, check=False)
        return result.returncode == 0

    def _describe(self, sha: str, ref: str) -> Revision:
        result = self._git.run(
            "log", "-1", "--no-show-signature", f"--format={_COMMIT_FORMAT}", sha, "--",
            git_dir=self._repo,
        )  # fmt: skip
        full, name, email, date, subject = (
            result.stdout.decode(errors="replace").rstrip("\n").split("\0", 4)
        )
        return Revision(
            sha=full,
            ref=ref,
            author=f"{name} <{email}>",
            subject=subject,
            committed_at=datetime.fromisoformat(date),
        )

    def _not_found(self, ref: str) -> SourceError:
        return SourceError(f"{self.url}: revision {ref!r} not found")


def _is_mirrored(ref: str) -> bool:
    return ref.startswith(("refs/heads/", "refs/tags/"))
