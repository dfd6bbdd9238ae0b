"""The cache of built chart dependencies, and the fingerprints both render caches key by."""

from __future__ import annotations

from pathlib import Path

from gitward.render.cache import ChartCache, Fingerprint


def charts_with(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_bytes(name.encode())
    return directory


def test_a_chart_cache_miss_leaves_the_charts_directory_alone(tmp_path: Path) -> None:
    cache = ChartCache(tmp_path / "cache")
    charts = charts_with(tmp_path / "charts", "web-1.0.0.tgz")
    assert cache.restore("k" * 64, charts) is False
    assert sorted(p.name for p in charts.iterdir()) == ["web-1.0.0.tgz"]


def test_restored_charts_replace_the_archives_a_build_would_overwrite(tmp_path: Path) -> None:
    cache = ChartCache(tmp_path / "cache")
    cache.store("k" * 64, charts_with(tmp_path / "built", "web-1.2.0.tgz", "db-2.0.0.tgz"))
    charts = charts_with(tmp_path / "charts", "web-1.0.0.tgz", "README.md")
    assert cache.restore("k" * 64, charts) is True
    names = sorted(p.name for p in charts.iterdir())
    assert names == ["README.md", "db-2.0.0.tgz", "web-1.2.0.tgz"]


def test_a_stored_entry_is_never_overwritten(tmp_path: Path) -> None:
    cache = ChartCache(tmp_path / "cache")
    cache.store("k" * 64, charts_with(tmp_path / "first", "web-1.0.0.tgz"))
    cache.store("k" * 64, charts_with(tmp_path / "second", "web-9.9.9.tgz"))
    assert [p.name for p in (tmp_path / "cache" / ("k" * 64)).iterdir()] == ["web-1.0.0.tgz"]
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]


def fingerprint(tree: Path, **fields: str) -> str:
    key = Fingerprint()
    for name, value in fields.items():
        key.field(name, value)
    key.tree("app", tree)
    return key.hexdigest()


def test_a_fingerprint_changes_with_any_file_and_only_then(tmp_path: Path) -> None:
    tree = tmp_path / "app"
    (tree / "templates").mkdir(parents=True)
    (tree / "templates" / "a.yaml").write_text("a: 1\n")
    before = fingerprint(tree, release="shop")
    assert fingerprint(tree, release="shop") == before
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("ref\n")
    assert fingerprint(tree, release="shop") == before
    (tree / "templates" / "a.yaml").write_text("a: 2\n")
    assert fingerprint(tree, release="shop") != before


def test_fields_are_length_prefixed_so_their_boundaries_count(tmp_path: Path) -> None:
    # Unprefixed, both would feed "a\0b\0c\0d\0".
    assert fingerprint(tmp_path, a="b", c="d") != fingerprint(tmp_path, a="b\0c\0d")
