"""Paths read from a checkout are resolved, symlinks and all, and must stay inside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward import repofiles
from gitward.errors import RenderError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    (path / "app").mkdir(parents=True)
    return repofiles.real(path)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.yaml").write_text("secret: 1\n")
    return path


def test_a_plain_file_inside_the_checkout_resolves_to_itself(root: Path) -> None:
    (root / "app" / "a.yaml").write_text("a: 1\n")

    found = repofiles.resolve_inside(
        root / "app" / "a.yaml", root=root, subject="app/a.yaml", error=RenderError
    )

    assert found == root / "app" / "a.yaml"


def test_a_symlink_that_stays_inside_resolves_to_its_target(root: Path) -> None:
    (root / "shared.yaml").write_text("a: 1\n")
    (root / "app" / "a.yaml").symlink_to("../shared.yaml")

    found = repofiles.resolve_inside(
        root / "app" / "a.yaml", root=root, subject="app/a.yaml", error=RenderError
    )

    assert found == root / "shared.yaml"


def test_symlink_out_of_checkout_is_refused_naming_the_file_and_its_target(
    root: Path, outside: Path
) -> None:
    (root / "app" / "a.yaml").symlink_to(outside / "secret.yaml")

    with pytest.raises(RenderError) as caught:
        repofiles.resolve_inside(
            root / "app" / "a.yaml", root=root, subject="app/a.yaml", error=RenderError
        )

    assert str(caught.value) == (
        f"app/a.yaml: leads outside the repository, to {outside / 'secret.yaml'}; refused"
    )


def test_symlink_within_symlink_out_of_checkout_is_refused(root: Path, outside: Path) -> None:
    (root / "hop").symlink_to(outside / "secret.yaml")
    (root / "app" / "a.yaml").symlink_to("../hop")

    with pytest.raises(RenderError, match="leads outside the repository"):
        repofiles.resolve_inside(
            root / "app" / "a.yaml", root=root, subject="app/a.yaml", error=RenderError
        )


def test_a_path_through_a_linked_directory_out_of_checkout_is_refused(
    root: Path, outside: Path
) -> None:
    (root / "app" / "dir").symlink_to(outside)

    with pytest.raises(RenderError, match="leads outside the repository"):
        repofiles.resolve_inside(
            root / "app" / "dir" / "secret.yaml", root=root, subject="x", error=RenderError
        )


def test_dotdot_out_of_checkout_is_refused(root: Path, outside: Path) -> None:
    with pytest.raises(RenderError, match="leads outside the repository"):
        repofiles.resolve_inside(
            root / "app" / ".." / ".." / "outside", root=root, subject="x", error=RenderError
        )


def test_walk_follows_directory_links_that_stay_inside(root: Path) -> None:
    (root / "shared").mkdir()
    (root / "shared" / "b.yaml").write_text("b: 1\n")
    (root / "app" / "a.yaml").write_text("a: 1\n")
    (root / "app" / "more").symlink_to("../shared")

    found = list(repofiles.walk(root / "app", root=root, label="app", error=RenderError))

    assert sorted(p.as_posix() for p in found) == ["a.yaml", "more/b.yaml"]


def test_walk_refuses_a_file_link_out_of_the_checkout(root: Path, outside: Path) -> None:
    (root / "app" / "nested").mkdir()
    (root / "app" / "nested" / ".hidden").symlink_to(outside / "secret.yaml")

    with pytest.raises(RenderError) as caught:
        list(repofiles.walk(root / "app", root=root, label="app", error=RenderError))

    assert str(caught.value).startswith("app/nested/.hidden: leads outside the repository, to ")


def test_walk_refuses_a_directory_link_out_of_the_checkout(root: Path, outside: Path) -> None:
    (root / "app" / "more").symlink_to(outside)

    with pytest.raises(RenderError, match=r"^app/more: leads outside the repository"):
        repofiles.check_tree(root / "app", root=root, label="app", error=RenderError)


def test_walk_refuses_a_directory_link_that_loops(root: Path) -> None:
    (root / "app" / "again").symlink_to(".")

    with pytest.raises(RenderError, match=r"^app/again: symlink loops back to "):
        repofiles.check_tree(root / "app", root=root, label="app", error=RenderError)


def test_walk_refuses_two_links_that_loop_through_each_other(root: Path) -> None:
    (root / "other").mkdir()
    (root / "app" / "to-other").symlink_to("../other")
    (root / "other" / "to-app").symlink_to("../app")

    with pytest.raises(RenderError, match="symlink loops back to"):
        repofiles.check_tree(root / "app", root=root, label="app", error=RenderError)


def test_a_dangling_link_out_of_the_checkout_is_refused_too(root: Path, tmp_path: Path) -> None:
    (root / "app" / "gone.yaml").symlink_to(tmp_path / "nowhere" / "x.yaml")

    with pytest.raises(RenderError, match="leads outside the repository"):
        repofiles.check_tree(root / "app", root=root, label="app", error=RenderError)


def test_read_text_refuses_a_file_over_the_limit_before_reading_it(root: Path) -> None:
    (root / "app" / "big.yaml").write_text("x" * 101)

    with pytest.raises(RenderError) as caught:
        repofiles.read_text(
            root / "app" / "big.yaml",
            root=root,
            subject="app/big.yaml",
            error=RenderError,
            limit=100,
        )

    assert str(caught.value) == (
        "app/big.yaml: 101 bytes is over the 100 bytes limit for a file in the config repository"
    )


def test_read_text_refuses_a_link_to_proc_self_environ(root: Path) -> None:
    (root / "app" / "env").symlink_to("/proc/self/environ")

    with pytest.raises(RenderError, match=r"^app/env: leads outside the repository, to /proc/"):
        repofiles.read_text(root / "app" / "env", root=root, subject="app/env", error=RenderError)


def test_a_file_just_over_ten_mib_is_refused_and_one_at_ten_mib_is_read(root: Path) -> None:
    (root / "app" / "at.yaml").write_bytes(b"x" * (10 * 1024 * 1024))
    (root / "app" / "over.yaml").write_bytes(b"x" * (10 * 1024 * 1024 + 1))

    text = repofiles.read_text(root / "app" / "at.yaml", root=root, subject="a", error=RenderError)
    with pytest.raises(RenderError, match="is over the 10 MiB limit"):
        repofiles.read_text(root / "app" / "over.yaml", root=root, subject="o", error=RenderError)

    assert len(text) == 10 * 1024 * 1024


def test_real_resolves_as_realpath_does_for_every_kind_of_path(root: Path, outside: Path) -> None:
    import os

    app = root / "app"
    (app / "a.yaml").write_text("a: 1\n")
    (app / "to-a").symlink_to("a.yaml")
    (app / "to-to-a").symlink_to("to-a")
    (app / "sub").symlink_to(outside)
    (app / "dangling").symlink_to("nowhere")
    (app / "loop").symlink_to("loop")
    os.mkfifo(app / "fifo")  # opened without being read: no reader is waited for
    paths = [
        app / "a.yaml",
        app / "to-to-a",
        app / "sub" / "secret.yaml",
        app / "sub" / ".." / "repo",
        app / "missing" / "x.yaml",
        app / "dangling",
        app / "loop",
        app / "fifo",
        Path("relative") / "x",
    ]
    for path in paths:
        assert repofiles.real(path) == Path(os.path.realpath(path)), path
