"""Rendering reads nothing a symlink leads to outside the checkout; links inside still work."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.config.apps import AppSpec
from gitward.config.loader import load_repo_config
from gitward.errors import ConfigError, RenderError
from gitward.render import RenderCache, render_app

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  v: '1'\n"


def _app(**extra: object) -> AppSpec:
    return AppSpec(name="web", path="apps/web", namespace="shop", **extra)  # type: ignore[arg-type]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "cm.yaml").write_text(CM.format(name="leaked"))
    (path / "values.yaml").write_text("leaked: true\n")
    return path


@pytest.fixture
def web(root: Path) -> Path:
    path = root / "apps" / "web"
    path.mkdir(parents=True)
    return path


def write_chart(path: Path, *, deps: str = "") -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "Chart.yaml").write_text(f"apiVersion: v2\nname: {path.name}\nversion: 0.1.0\n{deps}")


def test_app_dir_linked_to_another_dir_of_the_checkout_renders(root: Path) -> None:
    (root / "shared").mkdir()
    (root / "shared" / "cm.yaml").write_text(CM.format(name="shared"))
    (root / "apps").mkdir()
    (root / "apps" / "web").symlink_to("../shared")

    rendered = render_app(app=_app(), root=root)

    assert [str(m.ref) for m in rendered.manifests] == ["ConfigMap/shared"]


def test_app_dir_linked_out_of_the_checkout_is_refused(root: Path, outside: Path) -> None:
    (root / "apps").mkdir()
    (root / "apps" / "web").symlink_to(outside)

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == f"apps/web: leads outside the repository, to {outside}; refused"


def test_manifest_linked_out_of_the_checkout_is_refused_even_with_a_cache(
    root: Path, web: Path, outside: Path, tmp_path: Path
) -> None:
    (web / "cm.yaml").symlink_to(outside / "cm.yaml")

    with pytest.raises(RenderError, match=r"^apps/web/cm\.yaml: leads outside the repository"):
        render_app(app=_app(), root=root, cache=RenderCache(tmp_path / "render-cache"))


def test_in_repo_links_are_rendered_and_a_changed_link_target_misses_the_cache(
    root: Path, web: Path, tmp_path: Path
) -> None:
    (root / "shared").mkdir()
    (root / "shared" / "cm.yaml").write_text(CM.format(name="one"))
    (web / "more").symlink_to("../../shared")
    cache = RenderCache(tmp_path / "render-cache")
    first = render_app(app=_app(), root=root, cache=cache)

    (root / "shared" / "cm.yaml").write_text(CM.format(name="two"))
    second = render_app(app=_app(), root=root, cache=cache)

    assert [str(m.ref) for m in first.manifests] == ["ConfigMap/one"]
    assert [str(m.ref) for m in second.manifests] == ["ConfigMap/two"]


def test_values_file_linked_out_of_the_checkout_is_refused(
    root: Path, web: Path, outside: Path
) -> None:
    write_chart(web)
    (web / "prod.yaml").symlink_to(outside / "values.yaml")

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(values_files=("prod.yaml",)), root=root)

    assert str(caught.value).startswith("apps/web/prod.yaml")
    assert f"leads outside the repository, to {outside / 'values.yaml'}" in str(caught.value)


def test_values_file_elsewhere_linked_out_of_the_checkout_is_refused(
    root: Path, web: Path, outside: Path, tmp_path: Path
) -> None:
    write_chart(web)
    (root / "envs").mkdir()
    (root / "envs" / "prod.yaml").symlink_to(outside / "values.yaml")

    with pytest.raises(RenderError, match=r"^envs/prod\.yaml \(values file\): leads outside"):
        render_app(
            app=_app(values_files=("../../envs/prod.yaml",)),
            root=root,
            cache=RenderCache(tmp_path / "render-cache"),
        )


def test_chart_file_linked_to_a_host_file_is_refused_before_helm_runs(
    root: Path, web: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITWARD_HELM", "/nonexistent/helm-must-not-run")
    write_chart(web)
    (web / "files").mkdir()
    (web / "files" / "host").symlink_to("/etc/hostname")

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == (
        "apps/web/files/host: leads outside the repository, to /etc/hostname; refused"
    )


def test_file_chart_linked_out_of_the_checkout_is_refused(
    root: Path, web: Path, outside: Path
) -> None:
    write_chart(outside / "sub")
    write_chart(
        web, deps="dependencies:\n  - {name: sub, version: 0.1.0, repository: 'file://../sub'}\n"
    )
    (root / "apps" / "sub").symlink_to(outside / "sub")

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value).startswith(
        "apps/web/Chart.yaml: chart sub: file://../sub: leads outside the repository, to "
    )


def test_file_chart_holding_a_link_out_of_the_checkout_is_refused(
    root: Path, web: Path, outside: Path
) -> None:
    write_chart(root / "charts" / "sub")
    (root / "charts" / "sub" / "secret").symlink_to(outside / "values.yaml")
    write_chart(
        web,
        deps="dependencies:\n  - {name: sub, version: 0.1.0, repository: 'file://../../charts/sub'}\n",
    )

    with pytest.raises(RenderError, match=r"^charts/sub/secret: leads outside the repository"):
        render_app(app=_app(), root=root)


def test_kustomize_resource_path_out_of_the_checkout_is_refused(
    root: Path, web: Path, outside: Path
) -> None:
    (web / "kustomization.yaml").write_text("resources:\n  - ../../../outside/cm.yaml\n")

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value).startswith(
        "apps/web/kustomization.yaml: ../../../outside/cm.yaml: leads outside the repository"
    )


def test_kustomize_base_holding_a_link_out_of_the_checkout_is_refused(
    root: Path, web: Path, outside: Path
) -> None:
    (root / "base").mkdir()
    (root / "base" / "kustomization.yaml").write_text("resources:\n  - cm.yaml\n")
    (root / "base" / "cm.yaml").symlink_to(outside / "cm.yaml")
    (web / "kustomization.yaml").write_text("resources:\n  - ../../base\n")

    with pytest.raises(RenderError, match=r"^base/cm\.yaml: leads outside the repository"):
        render_app(app=_app(), root=root)


def test_kustomize_generator_file_out_of_the_checkout_is_refused(
    root: Path, web: Path, outside: Path
) -> None:
    (web / "kustomization.yaml").write_text(
        "configMapGenerator:\n  - name: g\n    files:\n      - key=../../../outside/values.yaml\n"
    )

    with pytest.raises(RenderError, match=r"\.\./\.\./\.\./outside/values\.yaml: leads outside"):
        render_app(app=_app(), root=root)


def test_gitward_yaml_linked_out_of_the_checkout_is_refused(root: Path, outside: Path) -> None:
    (outside / "gitward.yaml").write_text("apps: []\n")
    (root / "gitward.yaml").symlink_to(outside / "gitward.yaml")

    with pytest.raises(ConfigError, match=r"^gitward\.yaml: leads outside the repository"):
        load_repo_config(root)
