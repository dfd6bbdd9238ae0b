"""Trees of files per commit: contents, sharing, read-only-ness and pruning."""

from __future__ import annotations

import os
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gitward.programs import ProgramRun
from gitward.source import Checkout, GitSource
from gitward.source.checkouts import materialise
from gitward.source.git import Git

from .conftest import Origin

_WRITE = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_checkout_holds_exactly_the_files_of_the_commit(origin: Origin, source: GitSource) -> None:
    first = origin.commit(
        "first", {"apps/shop/deploy.yaml": "kind: Deployment\n", "gitward.yaml": "apps: []\n"}
    )
    origin.commit("second", {"apps/shop/deploy.yaml": "kind: StatefulSet\n"})

    checkout = source.checkout(first)

    assert checkout.revision.sha == first
    assert checkout.path.name == first
    assert _files(checkout.path) == {
        "apps/shop/deploy.yaml": "kind: Deployment\n",
        "gitward.yaml": "apps: []\n",
    }
    assert not (checkout.path / ".git").exists()


def test_checkout_keeps_symlinks_and_executable_bits(origin: Origin, source: GitSource) -> None:
    (origin.path / "bin").mkdir()
    script = origin.path / "bin" / "hook.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    (origin.path / "current").symlink_to("bin/hook.sh")
    origin.commit("tools", {})

    tree = source.checkout("main").path

    assert (tree / "current").is_symlink()
    assert os.readlink(tree / "current") == "bin/hook.sh"
    assert (tree / "bin" / "hook.sh").stat().st_mode & stat.S_IXUSR


def test_checkout_is_read_only(origin: Origin, source: GitSource) -> None:
    origin.commit("first", {"apps/a.yaml": "a: 1\n"})

    tree = source.checkout("main").path

    for path in [tree, tree / "apps", tree / "apps" / "a.yaml"]:
        assert path.stat().st_mode & _WRITE == 0, path


def test_checking_out_the_same_commit_again_reuses_the_tree(
    origin: Origin, source: GitSource
) -> None:
    sha = origin.commit("first", {"a.yaml": "a: 1\n"})
    origin.git("tag", "v1")

    first = source.checkout("main")
    second = GitSource(url=f"file://{origin.path}").checkout("v1")

    assert second.path == first.path
    assert second.path.stat().st_ino == first.path.stat().st_ino
    assert second.revision.ref == "v1"
    assert [p.name for p in (source.cache_path / "trees").iterdir()] == [sha]


def test_racing_checkouts_of_one_commit_share_one_tree(origin: Origin) -> None:
    sha = origin.commit("first", {f"apps/{n}.yaml": f"n: {n}\n" for n in range(50)})
    start = threading.Barrier(6)

    def check_out(_: int) -> Checkout:
        source = GitSource(url=f"file://{origin.path}")
        start.wait()
        return source.checkout("main")

    with ThreadPoolExecutor(max_workers=6) as pool:
        checkouts = list(pool.map(check_out, range(6)))

    assert {c.path for c in checkouts} == {checkouts[0].path}
    assert len(_files(checkouts[0].path)) == 50
    assert [p.name for p in checkouts[0].path.parent.iterdir()] == [sha]


def test_a_build_that_loses_the_race_uses_the_winners_tree(
    origin: Origin, source: GitSource
) -> None:
    sha = origin.commit("first", {"a.yaml": "a: 1\n"})
    source.resolve("main")
    repo, trees = source.cache_path / "repo.git", source.cache_path / "trees"

    class OvertakenGit(Git):
        """Lets another builder finish the same tree just before this one renames."""

        def run(self, *args: str, **kwargs: Any) -> ProgramRun:
            result = super().run(*args, **kwargs)
            if args[0] == "checkout-index":
                materialise(Git(subject="winner", timeout=30), repo=repo, trees=trees, sha=sha)
            return result

    path = materialise(OvertakenGit(subject="loser", timeout=30), repo=repo, trees=trees, sha=sha)

    assert path == trees / sha
    assert [p.name for p in trees.iterdir()] == [sha]
    assert (path / "a.yaml").read_text() == "a: 1\n"


def test_each_commit_gets_its_own_tree(origin: Origin, source: GitSource) -> None:
    origin.commit("first", {"a.yaml": "a: 1\n"})
    old = source.checkout("main")
    origin.commit("second", {"a.yaml": "a: 2\n"})

    new = source.checkout("main")

    assert new.path != old.path
    assert (old.path / "a.yaml").read_text() == "a: 1\n"
    assert (new.path / "a.yaml").read_text() == "a: 2\n"


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_prune_keeps_the_most_recently_used_trees(origin: Origin, source: GitSource) -> None:
    shas = [origin.commit(f"c{n}", {"a.yaml": f"a: {n}\n"}) for n in range(3)]
    for age, sha in zip((300, 200, 100), shas, strict=True):
        _age(source.checkout(sha).path, age)
    source.checkout(shas[0])  # used again: now the newest

    removed = source.prune_trees(2)

    assert removed == (shas[1],)
    assert sorted(p.name for p in (source.cache_path / "trees").iterdir()) == sorted(
        [shas[0], shas[2]]
    )


def test_prune_to_zero_removes_every_tree(origin: Origin, source: GitSource) -> None:
    sha = origin.commit("first", {"apps/a.yaml": "a: 1\n"})
    source.checkout("main")

    assert source.prune_trees(0) == (sha,)
    assert list((source.cache_path / "trees").iterdir()) == []
    assert source.checkout("main").path.is_dir()


def test_prune_removes_abandoned_builds_but_not_fresh_ones(
    origin: Origin, source: GitSource
) -> None:
    origin.commit("first", {"a.yaml": "a: 1\n"})
    trees = source.checkout("main").path.parent
    abandoned = trees / ".tmp-abandoned"
    (abandoned / "sub").mkdir(parents=True)
    (abandoned / "sub").chmod(0o555)
    _age(abandoned, 2 * 3600)
    building = trees / ".tmp-building"
    building.mkdir()

    assert source.prune_trees(5) == ()
    assert not abandoned.exists()
    assert building.exists()


def test_prune_without_any_checkout_removes_nothing(source: GitSource) -> None:
    assert source.prune_trees(3) == ()


def test_prune_refuses_a_negative_count(source: GitSource) -> None:
    with pytest.raises(ValueError, match="keep must be 0 or more"):
        source.prune_trees(-1)
