"""Resolving refs against real repositories fetched over file:// and local paths."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitward.errors import SourceError
from gitward.source import GitSource

from .conftest import AUTHOR, Origin


def test_resolves_a_branch_to_its_newest_commit(origin: Origin, source: GitSource) -> None:
    origin.commit("first", {"a.yaml": "a: 1\n"})
    second = origin.commit("second", {"a.yaml": "a: 2\n"})

    revision = source.resolve("main")

    assert revision.sha == second
    assert revision.ref == "main"


def test_records_author_subject_and_commit_time(origin: Origin, source: GitSource) -> None:
    origin.commit("Deploy shop v2\n\nLonger body.", {"a.yaml": "a: 1\n"})

    revision = source.resolve("main")

    assert revision.author == AUTHOR
    assert revision.subject == "Deploy shop v2"
    assert revision.committed_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert revision.committed_at.utcoffset() == timedelta(hours=2)


def test_resolves_lightweight_and_annotated_tags_to_commits(
    origin: Origin, source: GitSource
) -> None:
    tagged = origin.commit("release", {"a.yaml": "a: 1\n"})
    origin.git("tag", "v1.0.0")
    origin.git("tag", "--annotate", "v1.0.1", "--message", "the release")
    origin.commit("later", {"a.yaml": "a: 2\n"})

    assert source.resolve("v1.0.0").sha == tagged
    assert source.resolve("v1.0.1").sha == tagged
    assert source.resolve("refs/tags/v1.0.1").sha == tagged


def test_resolves_other_branches_and_full_ref_names(origin: Origin, source: GitSource) -> None:
    origin.commit("base", {"a.yaml": "a: 1\n"})
    origin.git("switch", "--quiet", "--create", "feature/canary")
    canary = origin.commit("canary", {"a.yaml": "a: canary\n"})

    assert source.resolve("feature/canary").sha == canary
    assert source.resolve("refs/heads/feature/canary").sha == canary


def test_branch_wins_over_a_tag_of_the_same_name(origin: Origin, source: GitSource) -> None:
    tagged = origin.commit("old", {"a.yaml": "a: 1\n"})
    origin.git("tag", "prod")
    origin.git("branch", "prod")
    newer = origin.commit("new", {"a.yaml": "a: 2\n"})
    origin.git("branch", "--force", "prod", newer)

    assert source.resolve("prod").sha == newer
    assert source.resolve("refs/tags/prod").sha == tagged


def test_resolves_full_and_abbreviated_shas(origin: Origin, source: GitSource) -> None:
    first = origin.commit("first", {"a.yaml": "a: 1\n"})
    origin.commit("second", {"a.yaml": "a: 2\n"})

    assert source.resolve(first).sha == first
    assert source.resolve(first.upper()).sha == first
    assert source.resolve(first[:10]).sha == first


def test_head_is_the_default_branch_of_the_remote(origin: Origin, source: GitSource) -> None:
    tip = origin.commit("first", {"a.yaml": "a: 1\n"})
    origin.git("branch", "other")

    assert source.resolve("HEAD").sha == tip


def test_resolves_refs_outside_branches_and_tags_on_demand(
    origin: Origin, source: GitSource
) -> None:
    origin.commit("base", {"a.yaml": "a: 1\n"})
    proposed = origin.commit("proposal", {"a.yaml": "a: 2\n"})
    origin.git("update-ref", "refs/pull/7/head", proposed)
    origin.git("reset", "--quiet", "--hard", "HEAD~1")

    assert source.resolve("refs/pull/7/head").sha == proposed


def test_fetches_a_sha_that_no_branch_reaches_any_more(origin: Origin, source: GitSource) -> None:
    origin.commit("base", {"a.yaml": "a: 1\n"})
    source.resolve("main")
    dropped = origin.commit("force-pushed away", {"a.yaml": "a: 2\n"})
    origin.git("reset", "--quiet", "--hard", "HEAD~1")

    assert source.resolve(dropped).sha == dropped


def test_unknown_revision_is_one_line_naming_the_url(origin: Origin, source: GitSource) -> None:
    origin.commit("first", {"a.yaml": "a: 1\n"})

    with pytest.raises(SourceError) as caught:
        source.resolve("nope")

    assert str(caught.value) == f"file://{origin.path}: revision 'nope' not found"


def test_unknown_full_sha_is_not_found(origin: Origin, source: GitSource) -> None:
    origin.commit("first", {"a.yaml": "a: 1\n"})

    with pytest.raises(SourceError, match=r"revision '0{40}' not found$"):
        source.resolve("0" * 40)


@pytest.mark.parametrize("ref", ["main~1", "main^", "@{upstream}", "--upload-pack=touch", ""])
def test_revision_syntax_and_options_are_refused(
    origin: Origin, source: GitSource, ref: str
) -> None:
    origin.commit("first", {"a.yaml": "a: 1\n"})

    with pytest.raises(SourceError, match="is not a branch, tag, refs/ name or commit SHA"):
        source.resolve(ref)


def test_nonexistent_repository_names_the_url_and_gits_reason(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-repo"
    source = GitSource(url=str(missing))

    with pytest.raises(SourceError) as caught:
        source.resolve("main")

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{missing}: git fetch failed: ")
    assert "does not appear to be a git repository" in message


def test_second_resolve_fetches_new_commits_into_the_same_cache(
    origin: Origin, source: GitSource, tmp_path: Path
) -> None:
    origin.commit("first", {"a.yaml": "a: 1\n"})
    source.resolve("main")
    second = origin.commit("second", {"a.yaml": "a: 2\n"})

    again = GitSource(url=f"file://{origin.path}")

    assert again.resolve("main").sha == second
    assert again.cache_path == source.cache_path
    assert [p.name for p in (tmp_path / "cache" / "git").iterdir()] == [source.cache_path.name]


def test_branches_deleted_on_the_remote_are_gone_after_a_fetch(
    origin: Origin, source: GitSource
) -> None:
    origin.commit("first", {"a.yaml": "a: 1\n"})
    origin.git("branch", "short-lived")
    source.resolve("short-lived")
    origin.git("branch", "--delete", "short-lived")

    with pytest.raises(SourceError, match="revision 'short-lived' not found"):
        source.resolve("short-lived")


def test_a_cached_sha_resolves_without_the_remote(origin: Origin, source: GitSource) -> None:
    sha = origin.commit("first", {"a.yaml": "a: 1\n"})
    source.resolve("main")
    shutil.rmtree(origin.path)

    assert source.resolve(sha).sha == sha
    with pytest.raises(SourceError, match="git fetch failed"):
        source.resolve("main")


def test_plain_relative_paths_name_the_same_repository_from_anywhere(
    origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = origin.commit("first", {"a.yaml": "a: 1\n"})
    monkeypatch.chdir(origin.path.parent)
    source = GitSource(url="origin")
    monkeypatch.chdir("/")

    assert source.url == str(origin.path)
    assert source.resolve("main").sha == sha
