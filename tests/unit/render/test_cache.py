from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from gitward.config.apps import AppSpec
from gitward.objects import Manifest
from gitward.programs import Program, ProgramRun, run_program
from gitward.render import RenderCache, Rendered, render_app
from gitward.render.helm import binary

from .helpers import (
    ChartRepo,
    HelmCli,
    copy_web_chart,
    write_umbrella,
    write_yaml,
)

APP = AppSpec(name="shop", path="apps/shop", namespace="store")


class HelmCalls:
    """Counts helm runs; ``forbid()`` makes any further run fail the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.argv: list[tuple[str, ...]] = []
        self.forbidden = False
        real = run_program

        def counting(program: Program, argv: Sequence[str], **kwargs: Any) -> ProgramRun:
            if self.forbidden:
                raise AssertionError(f"helm was run on a cache hit: {list(argv)}")
            self.argv.append(tuple(argv))
            return real(program, argv, **kwargs)

        monkeypatch.setattr(binary, "run_program", counting)

    def forbid(self) -> None:
        self.forbidden = True

    def __len__(self) -> int:
        return len(self.argv)


@pytest.fixture
def helm_calls(monkeypatch: pytest.MonkeyPatch) -> HelmCalls:
    return HelmCalls(monkeypatch)


@pytest.fixture
def shop(root: Path, helm_cli: HelmCli) -> Path:
    copy_web_chart(root / "charts" / "web")
    app_dir = write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "0.1.0", "repository": "file://../../charts/web"}],
    )
    helm_cli.lock(app_dir)
    write_yaml(app_dir / "web.yaml", {"greeting": "first"})
    return app_dir


def _bodies(rendered: Rendered) -> list[tuple[str, dict[str, Any]]]:
    return [(m.source, m.body) for m in rendered.manifests]


def _greeting(manifests: tuple[Manifest, ...]) -> str:
    (configmap,) = [m for m in manifests if m.body["kind"] == "ConfigMap"]
    return str(configmap.body["data"]["greeting"])


def test_cache_hit_returns_the_same_result_without_running_helm(
    root: Path, shop: Path, helm_calls: HelmCalls
) -> None:
    cache = RenderCache()
    first = render_app(app=APP, root=root, cache=cache)
    assert len(helm_calls) > 0
    helm_calls.forbid()

    second = render_app(app=APP, root=root, cache=cache)

    assert second == first
    assert _bodies(second) == _bodies(first)
    assert second.charts[0].digest is not None


def test_cache_lives_under_the_gitward_cache_root(
    root: Path, shop: Path, isolated_cache: Path
) -> None:
    render_app(app=APP, root=root, cache=RenderCache())

    entries = list((isolated_cache / "render").rglob("*.json"))
    assert len(entries) == 1
    assert json.loads(entries[0].read_text())["rendered"]["kind"] == "helm"
    assert not list((isolated_cache / "render").rglob("*.tmp"))


def test_a_changed_values_file_misses_the_cache(
    root: Path, shop: Path, helm_calls: HelmCalls
) -> None:
    cache = RenderCache()
    render_app(app=APP, root=root, cache=cache)
    write_yaml(shop / "web.yaml", {"greeting": "second"})
    runs = len(helm_calls)

    rendered = render_app(app=APP, root=root, cache=cache)

    assert len(helm_calls) > runs
    assert _greeting(rendered.manifests) == "second"


def test_a_changed_file_dependency_outside_the_app_misses_the_cache(
    root: Path, shop: Path, helm_calls: HelmCalls
) -> None:
    cache = RenderCache()
    render_app(app=APP, root=root, cache=cache)
    write_yaml(shop / "web.yaml", {})
    write_yaml(root / "charts" / "web" / "values.yaml", {"greeting": "new default"})

    rendered = render_app(app=APP, root=root, cache=cache)

    assert _greeting(rendered.manifests) == "new default"


def test_release_and_namespace_are_part_of_the_key(root: Path, shop: Path) -> None:
    cache = RenderCache()
    render_app(app=APP, root=root, cache=cache)

    other = AppSpec(name="shop", path="apps/shop", namespace="store", release_name="other")
    rendered = render_app(app=other, root=root, cache=cache)

    assert {m.body["metadata"]["name"] for m in rendered.manifests} == {"other-web"}


def test_a_cache_cleared_while_running_is_filled_again(
    root: Path, shop: Path, isolated_cache: Path, helm_calls: HelmCalls
) -> None:
    cache = RenderCache()
    render_app(app=APP, root=root, cache=cache)
    shutil.rmtree(isolated_cache / "render")
    write_yaml(shop / "web.yaml", {"greeting": "second"})
    render_app(app=APP, root=root, cache=cache)
    helm_calls.forbid()

    again = render_app(app=APP, root=root, cache=cache)

    assert _greeting(again.manifests) == "second"
    assert len(list((isolated_cache / "render").rglob("*.json"))) == 1
    assert not list((isolated_cache / "render").rglob("*.tmp"))


def test_an_unreadable_entry_is_a_miss(
    root: Path, shop: Path, isolated_cache: Path, helm_calls: HelmCalls
) -> None:
    cache = RenderCache()
    render_app(app=APP, root=root, cache=cache)
    (entry,) = (isolated_cache / "render").rglob("*.json")
    entry.write_text("{ torn")
    runs = len(helm_calls)

    rendered = render_app(app=APP, root=root, cache=cache)

    assert len(helm_calls) > runs
    assert _greeting(rendered.manifests) == "first"


def test_unlocked_chart_from_a_repository_is_never_cached(
    root: Path, chart_repo: ChartRepo, tmp_path: Path, helm_calls: HelmCalls
) -> None:
    chart_repo.publish(copy_web_chart(tmp_path / "src" / "web"))
    write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "^0.1.0", "repository": chart_repo.url}],
    )
    cache = RenderCache()
    render_app(app=APP, root=root, cache=cache)
    runs = len(helm_calls)

    render_app(app=APP, root=root, cache=cache)

    assert len(helm_calls) > runs


def test_renders_without_a_cache_store_nothing(
    root: Path, shop: Path, isolated_cache: Path
) -> None:
    render_app(app=APP, root=root)

    assert not (isolated_cache / "render").exists()
