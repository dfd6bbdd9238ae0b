"""The dev registry's data belongs to the address it was written under."""

from __future__ import annotations

from pathlib import Path

from gitward.dev.registry import storage


def test_data_written_at_one_address_is_kept_for_the_same_address(tmp_path: Path) -> None:
    blob = storage(tmp_path, "127.0.0.1:16461") / "docker" / "blob"
    blob.parent.mkdir(parents=True)
    blob.write_text("layer")
    assert storage(tmp_path, "127.0.0.1:16461") == blob.parent.parent
    assert blob.read_text() == "layer"


def test_data_written_at_another_address_is_dropped(tmp_path: Path) -> None:
    blob = storage(tmp_path, "127.0.0.1:16441") / "docker" / "blob"
    blob.parent.mkdir(parents=True)
    blob.write_text("layer")
    data = storage(tmp_path, "127.0.0.1:16461")
    assert data.is_dir()
    assert not blob.exists()


def test_data_of_an_unknown_address_is_dropped(tmp_path: Path) -> None:
    old = tmp_path / "registry" / "docker" / "blob"
    old.parent.mkdir(parents=True)
    old.write_text("layer")
    storage(tmp_path, "127.0.0.1:16461")
    assert not old.exists()
