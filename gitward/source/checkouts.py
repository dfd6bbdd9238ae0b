"""Trees of files per commit, built once and shared.

Rendering needs plain files, not a repository. Each commit gets one directory,
``trees/<sha>``, filled from the bare cache with a throw-away index
(``read-tree`` + ``checkout-index``). That honours the repository's own
``.gitattributes`` and symlinks, as a normal checkout would, unlike
``git archive`` which applies ``export-ignore``. It also leaves no ``.git`` in
the tree and no worktree bookkeeping in the cache.

A commit never changes, so a tree that exists is complete and is reused as is.
Building happens in a ``.tmp-*`` sibling that is renamed into place at the
end: two processes that race both build, one rename wins, and the loser
throws its copy away. Write bits are cleared before the rename so that no
caller can change what another caller sees.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from gitward.source.git import Git

_TEMP_PREFIX = ".tmp-"

# A build left behind for this long was abandoned by a process that died.
_STALE_SECONDS = 3600.0


def materialise(git: Git, *, repo: Path, trees: Path, sha: str) -> Path:
    """The tree of commit ``sha`` under ``trees``, built unless it already exists."""
    target = trees / sha
    if target.is_dir():
        _touch(target)
        return target
    trees.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{sha[:12]}-", dir=trees))
    index = building.with_name(building.name + ".index")
    try:
        env = {"GIT_INDEX_FILE": str(index)}
        git.run("read-tree", sha, git_dir=repo, env=env)
        git.run(
            "checkout-index",
            "--all",
            "--force",
            git_dir=repo,
            work_tree=building,
            env=env,
            settings={"core.autocrlf": "false", "core.symlinks": "true"},
        )
        _make_read_only(building)
        try:
            building.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            # Another process finished the same commit first; use theirs.
            remove_tree(building)
        return target
    finally:
        index.unlink(missing_ok=True)
        if building.exists():
            remove_tree(building)


def prune(trees: Path, *, keep: int) -> tuple[str, ...]:
    """Remove all but the ``keep`` most recently used trees; return the SHAs removed.

    Builds abandoned by a dead process for over an hour are removed too. Do not
    prune while another process may still be reading an old tree.
    """
    if keep < 0:
        raise ValueError(f"keep must be 0 or more, not {keep}")
    if not trees.is_dir():
        return ()
    now = time.time()
    done: list[Path] = []
    for entry in trees.iterdir():
        if entry.name.startswith(_TEMP_PREFIX):
            with contextlib.suppress(FileNotFoundError):
                if now - entry.lstat().st_mtime > _STALE_SECONDS:
                    remove_tree(entry)
        elif entry.is_dir():
            done.append(entry)
    done.sort(key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    removed = done[keep:]
    for tree in removed:
        remove_tree(tree)
    return tuple(sorted(tree.name for tree in removed))


def remove_tree(path: Path) -> None:
    """Delete ``path`` (a read-only tree, a temp dir or a stray file)."""
    if not path.is_dir() or path.is_symlink():
        path.unlink(missing_ok=True)
        return
    for root, _dirs, _files in os.walk(path):
        os.chmod(root, stat.S_IRWXU)
    shutil.rmtree(path)


def _make_read_only(path: Path) -> None:
    writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for root, _dirs, files in os.walk(path, topdown=False):
        for name in files:
            file = Path(root, name)
            if not file.is_symlink():
                file.chmod(file.lstat().st_mode & ~writable)
        os.chmod(root, 0o555)


def _touch(path: Path) -> None:
    """Mark a tree as used, so that :func:`prune` keeps it longest."""
    with contextlib.suppress(OSError):
        os.utime(path)
