from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitward.config.apps import AppSpec, SourceKind
from gitward.errors import RenderError
from gitward.render import render_app

from .helpers import FIXTURES


@pytest.fixture
def overlay(root: Path, kubectl: Path) -> AppSpec:
    shutil.copytree(FIXTURES / "kustomize" / "base", root / "apps" / "base")
    shutil.copytree(FIXTURES / "kustomize" / "overlay", root / "apps" / "web")
    return AppSpec(name="web", path="apps/web", namespace="shop")


def test_kustomization_renders_through_kubectl_including_bases_outside_the_app(
    root: Path, overlay: AppSpec
) -> None:
    rendered = render_app(app=overlay, root=root)

    assert rendered.kind is SourceKind.KUSTOMIZE
    assert sorted(str(m.ref) for m in rendered.manifests) == [
        "ConfigMap/shop/prod-settings",
        "Service/shop/prod-web",
    ]
    assert {m.source for m in rendered.manifests} == {"kustomization.yaml"}


def test_a_kustomize_render_reports_the_bases_it_read_outside_the_app(
    root: Path, overlay: AppSpec
) -> None:
    rendered = render_app(app=overlay, root=root)

    assert "apps/web" in rendered.inputs
    assert "apps/base" in rendered.inputs


def test_kustomize_failure_is_one_line_with_kubectls_message(root: Path, overlay: AppSpec) -> None:
    (root / "apps" / "web" / "service.yaml").unlink()

    with pytest.raises(RenderError) as caught:
        render_app(app=overlay, root=root)

    message = str(caught.value)
    assert message.startswith("apps/web: kustomize failed: ")
    assert "service.yaml" in message
    assert "\n" not in message
    assert str(root) not in message
