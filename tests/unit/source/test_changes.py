"""Which paths changed between two commits, so only affected apps are reconciled."""

from __future__ import annotations

from gitward.source import GitSource

from .conftest import Origin


def test_lists_added_modified_and_deleted_paths(origin: Origin, source: GitSource) -> None:
    old = origin.commit(
        "old",
        {"apps/shop/a.yaml": "a: 1\n", "apps/shop/b.yaml": "b: 1\n", "apps/db/c.yaml": "c: 1\n"},
    )
    new = origin.commit(
        "new",
        {"apps/shop/a.yaml": "a: 2\n", "apps/web/d.yaml": "d: 1\n"},
        delete=("apps/shop/b.yaml",),
    )

    assert source.changed_paths(old, new) == {
        "apps/shop/a.yaml",
        "apps/shop/b.yaml",
        "apps/web/d.yaml",
    }


def test_a_rename_counts_as_both_paths(origin: Origin, source: GitSource) -> None:
    content = "kind: ConfigMap\nmetadata:\n  name: settings\n" * 5
    old = origin.commit("old", {"apps/old/cm.yaml": content})
    new = origin.commit("move", {"apps/new/cm.yaml": content}, delete=("apps/old/cm.yaml",))

    assert source.changed_paths(old, new) == {"apps/old/cm.yaml", "apps/new/cm.yaml"}


def test_identical_commits_change_nothing(origin: Origin, source: GitSource) -> None:
    old = origin.commit("old", {"a.yaml": "a: 1\n"})
    new = origin.commit("empty", {})

    assert source.changed_paths(old, new) == frozenset()
    assert source.changed_paths(old, old) == frozenset()


def test_fetches_commits_it_has_not_seen(origin: Origin, source: GitSource) -> None:
    old = origin.commit("old", {"a.yaml": "a: 1\n"})
    new = origin.commit("new", {"b.yaml": "b: 1\n"})

    assert source.changed_paths(old, new) == {"b.yaml"}


def test_paths_with_spaces_and_unicode_are_returned_verbatim(
    origin: Origin, source: GitSource
) -> None:
    old = origin.commit("old", {"a.yaml": "a: 1\n"})
    new = origin.commit("new", {"apps/my app/ünï.yaml": "x: 1\n"})

    assert source.changed_paths(old, new) == {"apps/my app/ünï.yaml"}
