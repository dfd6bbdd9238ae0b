"""Versions from git: a tag, or a pre-release after the last tag that names the commit."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import semver

from gitward.artifacts.references import TAG
from gitward.ci.errors import CiInputError
from gitward.ci.versioning import describe


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def commit(root: Path, name: str = "f", text: str = "x") -> str:
    (root / name).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-qm", name)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    return tmp_path


def assert_valid_everywhere(version: str) -> None:
    semver.Version.parse(version)
    assert TAG.match(version), f"{version} is not an OCI tag"
    assert "+" not in version


def test_a_tag_on_the_commit_is_the_version(repo: Path) -> None:
    sha = commit(repo)
    git(repo, "tag", "v1.4.2")
    code = describe(repo)
    assert (code.version, code.commit, code.tag) == ("1.4.2", sha, "v1.4.2")


def test_an_annotated_tag_on_the_commit_is_the_version_and_one_on_another_branch_is_not(
    repo: Path,
) -> None:
    base = commit(repo, "a")
    git(repo, "tag", "-a", "-m", "release", "v2.1.0")
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "side")
    git(repo, "tag", "-a", "-m", "elsewhere", "v9.0.0")
    git(repo, "checkout", "-q", "-")
    code = describe(repo)
    assert (code.version, code.commit, code.tag) == ("2.1.0", base, "v2.1.0")
    sha = commit(repo, "b")
    assert describe(repo).version == f"2.1.1-dev.1.g{sha[:7]}"


def test_commits_after_a_tag_get_a_pre_release_of_the_next_patch_naming_the_commit(
    repo: Path,
) -> None:
    commit(repo, "a")
    git(repo, "tag", "v1.4.2")
    commit(repo, "b")
    sha = commit(repo, "c")
    version = describe(repo).version
    assert version == f"1.4.3-dev.2.g{sha[:7]}"
    assert_valid_everywhere(version)
    assert semver.Version.parse(version) > semver.Version.parse("1.4.2")


def test_later_commits_sort_later(repo: Path) -> None:
    commit(repo, "a")
    git(repo, "tag", "v1.0.0")
    commit(repo, "b")
    first = describe(repo).version
    commit(repo, "c")
    second = describe(repo).version
    assert semver.Version.parse(second) > semver.Version.parse(first)


def test_after_a_pre_release_tag_the_version_extends_it(repo: Path) -> None:
    commit(repo, "a")
    git(repo, "tag", "v2.0.0-rc.1")
    sha = commit(repo, "b")
    version = describe(repo).version
    assert version == f"2.0.0-rc.1.dev.1.g{sha[:7]}"
    assert semver.Version.parse(version) > semver.Version.parse("2.0.0-rc.1")


def test_without_tags_the_version_counts_commits(repo: Path) -> None:
    commit(repo, "a")
    sha = commit(repo, "b")
    assert describe(repo).version == f"0.1.0-dev.2.g{sha[:7]}"


def test_tags_that_are_not_semver_are_ignored(repo: Path) -> None:
    commit(repo, "a")
    git(repo, "tag", "v1.0.0")
    sha = commit(repo, "b")
    git(repo, "tag", "v-next")
    git(repo, "tag", "release")
    assert describe(repo).version == f"1.0.1-dev.1.g{sha[:7]}"


def test_a_dirty_tree_is_refused(repo: Path) -> None:
    commit(repo, "a")
    (repo / "a").write_text("changed")
    with pytest.raises(CiInputError, match=r"uncommitted changes.*--allow-dirty"):
        describe(repo)
    (repo / "a").write_text("x")
    (repo / "new").write_text("untracked")
    with pytest.raises(CiInputError, match="uncommitted"):
        describe(repo)


def test_an_allowed_dirty_build_names_its_content(repo: Path) -> None:
    commit(repo, "a")
    git(repo, "tag", "v1.0.0")
    (repo / "a").write_text("one")
    first = describe(repo, allow_dirty=True)
    (repo / "a").write_text("two")
    second = describe(repo, allow_dirty=True)
    assert first.dirty and re.fullmatch(r"1\.0\.0-dirty\.w[0-9a-f]{7}", first.version)
    assert first.version != second.version
    assert_valid_everywhere(first.version)
    assert git(repo, "status", "--porcelain") == "M a"


def test_the_source_is_the_origin_without_credentials(repo: Path) -> None:
    commit(repo, "a")
    git(repo, "remote", "add", "origin", "https://bot:tok@git.example.com/org/app.git")
    assert describe(repo).source == "https://git.example.com/org/app"


def test_not_a_repository_or_no_commit_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(CiInputError, match="not a git working tree"):
        describe(tmp_path)
    git(tmp_path, "init", "-q")
    with pytest.raises(CiInputError, match="no commit yet"):
        describe(tmp_path)
