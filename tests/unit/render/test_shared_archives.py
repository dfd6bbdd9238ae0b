"""Charts kept one by one: umbrellas that pin the same chart version download it once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.config.apps import AppSpec
from gitward.errors import RenderError
from gitward.render import render_app
from gitward.render.helm.lockdigest import lock_digest

from .helpers import ChartRepo, HelmCli, copy_web_chart, serve_chart_repo, write_umbrella


def _app(name: str) -> AppSpec:
    return AppSpec(name=name, path=f"apps/{name}", namespace="store")


def _lists(app_dir: Path) -> tuple[Any, Any, Any]:
    """The chart's dependency list, the lock's, and the lock's digest."""
    chart = yaml.safe_load((app_dir / "Chart.yaml").read_text())
    lock = yaml.safe_load((app_dir / "Chart.lock").read_text())
    return chart["dependencies"], lock["dependencies"], lock["digest"]


def _published(repo: ChartRepo, tmp_path: Path, *names: str) -> None:
    for name in names:
        chart = copy_web_chart(tmp_path / "src" / name)
        meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        meta["name"] = name
        (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
        repo.publish(chart)


def test_apps_with_different_umbrellas_pinning_one_chart_download_it_once(
    root: Path, helm_cli: HelmCli, tmp_path: Path
) -> None:
    with serve_chart_repo(tmp_path / "once", helm_cli) as repo:
        _published(repo, tmp_path, "web")
        for name in ("shop", "cart"):
            # Each umbrella names itself, and each lock records its own making.
            app_dir = write_umbrella(
                root / "apps" / name,
                name=name,
                dependencies=[{"name": "web", "version": "0.1.0", "repository": repo.url}],
            )
            helm_cli.lock(app_dir)
        first = render_app(app=_app("shop"), root=root)
    assert (root / "apps" / "shop" / "Chart.lock").read_text() != (
        root / "apps" / "cart" / "Chart.lock"
    ).read_text()

    # The repository is gone: cart's chart can only come from what shop's build kept.
    second = render_app(app=_app("cart"), root=root)

    assert second.charts == first.charts
    assert "ConfigMap/store/cart-web" in {str(m.ref) for m in second.manifests}


def test_a_stale_lock_is_refused_even_when_every_chart_it_pins_is_kept(
    root: Path, helm_cli: HelmCli, tmp_path: Path
) -> None:
    app_dir = root / "apps" / "shop"
    with serve_chart_repo(tmp_path / "once", helm_cli) as repo:
        _published(repo, tmp_path, "web")
        entry = {"name": "web", "version": "0.1.0", "repository": repo.url}
        write_umbrella(app_dir, dependencies=[entry])
        helm_cli.lock(app_dir)
        render_app(app=_app("shop"), root=root)
        # Edited without a new lock: helm's digest no longer matches.
        write_umbrella(app_dir, dependencies=[{**entry, "condition": "web.enabled"}])

        with pytest.raises(
            RenderError, match=r"^apps/shop/Chart\.lock: the lock file .* out of sync"
        ):
            render_app(app=_app("shop"), root=root)


def test_the_lock_digest_is_the_one_helm_writes(
    root: Path, helm_cli: HelmCli, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    _published(chart_repo, tmp_path, "web", "db")
    url = chart_repo.url
    cases: list[list[dict[str, Any]]] = [
        [{"name": "web", "version": "0.1.0", "repository": url}],
        [{"name": "web", "version": "~0.1", "repository": url + "/"}],
        [
            {"name": "web", "version": "0.1.0", "repository": url, "alias": "front",
             "condition": "front.on", "tags": ["edge", "a&b<c>"], "enabled": True},
            {"name": "web", "version": "0.1.0", "repository": url, "alias": "back",
             "import-values": ["data", {"child": "x", "parent": "z"}]},
            {"name": "db", "version": ">=0.1.0", "repository": url},
        ],
    ]  # fmt: skip
    for index, dependencies in enumerate(cases):
        app_dir = write_umbrella(root / "apps" / f"case{index}", dependencies=dependencies)
        helm_cli.lock(app_dir)
        requested, locked, digest = _lists(app_dir)

        assert lock_digest(requested, locked) == digest, dependencies


@pytest.mark.parametrize(
    "requested",
    [
        [{"name": "wéb", "version": "0.1.0", "repository": "http://x"}],  # not ASCII
        [{"name": "web", "version": 1.1, "repository": "http://x"}],  # a YAML float
        [{"name": "web", "repository": "http://x", "import-values": [{"a": 1}]}],
        # helm reads a plain y as true: the lock it wrote has no string there.
        [
            {
                "name": "web",
                "repository": "http://x",
                "import-values": [{"child": "x", "parent": "y"}],
            }
        ],
        [],
    ],
)
def test_what_the_digest_cannot_encode_as_helm_would_is_left_to_helm(requested: Any) -> None:
    locked = [{"name": "web", "version": "0.1.0", "repository": "http://x"}]

    assert lock_digest(requested, locked) is None
