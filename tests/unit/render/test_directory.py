from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitward.config.apps import AppSpec, SourceKind
from gitward.errors import RenderError
from gitward.render import detect, render_app

from .helpers import FIXTURES


def _app(path: str = "apps/web") -> AppSpec:
    return AppSpec(name="web", path=path, namespace="shop")


def _checkout(root: Path, fixture: str, path: str = "apps/web") -> Path:
    dest = root / path
    shutil.copytree(FIXTURES / fixture, dest)
    return dest


def test_plain_directory_renders_every_manifest_file_in_path_order(root: Path) -> None:
    _checkout(root, "plain")

    rendered = render_app(app=_app(), root=root)

    assert rendered.kind is SourceKind.DIRECTORY
    assert rendered.charts == ()
    assert [(m.source, str(m.ref)) for m in rendered.manifests] == [
        ("deploy.yaml", "Deployment/web"),
        ("deploy.yaml", "Service/web"),
        ("list.yml", "ConfigMap/from-list-a"),
        ("list.yml", "ConfigMap/from-list-b"),
        ("nested/config.json", "ConfigMap/from-json"),
    ]


def test_empty_and_null_documents_are_dropped(root: Path) -> None:
    app_dir = root / "apps/web"
    app_dir.mkdir(parents=True)
    (app_dir / "a.yaml").write_text("---\n---\nnull\n---\n# only a comment\n")

    assert render_app(app=_app(), root=root).manifests == ()


def test_list_kinds_are_expanded_into_their_items(root: Path) -> None:
    _checkout(root, "plain")

    rendered = render_app(app=_app(), root=root)

    kinds = {m.body["kind"] for m in rendered.manifests}
    assert "List" not in kinds
    assert "ConfigMapList" not in kinds


def test_dot_files_and_dot_directories_are_skipped(root: Path) -> None:
    _checkout(root, "plain")

    sources = {m.source for m in render_app(app=_app(), root=root).manifests}

    assert not any(part.startswith(".") for s in sources for part in s.split("/"))


def test_timestamps_stay_strings_as_the_api_server_reads_them(root: Path) -> None:
    _checkout(root, "plain")

    deployment = render_app(app=_app(), root=root).manifests[0]

    assert deployment.annotations == {"released": "2024-01-31"}


def test_malformed_yaml_names_the_file_and_line(root: Path) -> None:
    _checkout(root, "malformed")

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value).startswith("apps/web/deploy.yaml:12: mapping values are not allowed")
    assert caught.value.__cause__ is not None


def test_malformed_json_names_the_file_and_line(root: Path) -> None:
    app_dir = root / "apps/web"
    app_dir.mkdir(parents=True)
    (app_dir / "x.json").write_text('{\n  "apiVersion": "v1",\n  "kind" "ConfigMap"\n}\n')

    with pytest.raises(RenderError, match=r"^apps/web/x\.json:3: Expecting ':' delimiter$"):
        render_app(app=_app(), root=root)


def test_object_without_a_name_names_the_file_and_the_documents_first_line(root: Path) -> None:
    app_dir = root / "apps/web"
    app_dir.mkdir(parents=True)
    (app_dir / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n"
        "---\n# the second object\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"
    )

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == "apps/web/a.yaml:7: object has no metadata.name"


def test_object_without_api_version_and_kind_lists_what_is_missing(root: Path) -> None:
    app_dir = root / "apps/web"
    app_dir.mkdir(parents=True)
    (app_dir / "a.yaml").write_text("metadata:\n  name: x\n")

    with pytest.raises(RenderError, match=r"^apps/web/a\.yaml:1: object has no apiVersion, kind$"):
        render_app(app=_app(), root=root)


def test_a_document_that_is_not_a_mapping_is_rejected_with_its_line(root: Path) -> None:
    app_dir = root / "apps/web"
    app_dir.mkdir(parents=True)
    (app_dir / "a.yaml").write_text("---\n- just\n- a list\n")

    with pytest.raises(RenderError, match=r"^apps/web/a\.yaml:2: document is a list, not a"):
        render_app(app=_app(), root=root)


def test_a_bad_item_in_a_list_names_the_list_and_the_item(root: Path) -> None:
    app_dir = root / "apps/web"
    app_dir.mkdir(parents=True)
    (app_dir / "a.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n"
    )

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == (
        "apps/web/a.yaml:1: item 0 of the List: object has no metadata.name"
    )


def test_missing_app_path_is_named(root: Path) -> None:
    with pytest.raises(RenderError, match=r"^apps/gone: app web has no such directory"):
        render_app(app=_app("apps/gone"), root=root)


def test_app_path_outside_the_repository_is_refused(root: Path) -> None:
    with pytest.raises(RenderError, match=r"^\.\./elsewhere: app web points outside"):
        render_app(app=_app("../elsewhere"), root=root)


@pytest.mark.parametrize(
    ("marker", "kind"),
    [
        ("Chart.yaml", SourceKind.HELM),
        ("kustomization.yaml", SourceKind.KUSTOMIZE),
        ("kustomization.yml", SourceKind.KUSTOMIZE),
        ("Kustomization", SourceKind.KUSTOMIZE),
        ("deploy.yaml", SourceKind.DIRECTORY),
    ],
)
def test_detect_tells_the_kind_from_the_files_present(
    tmp_path: Path, marker: str, kind: SourceKind
) -> None:
    (tmp_path / marker).write_text("{}\n")

    assert detect(tmp_path) is kind


def test_detect_names_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="nope: not found"):
        detect(tmp_path / "nope")


def test_json_manifest_with_a_duplicate_key_is_refused(root: Path) -> None:
    app_dir = root / "apps" / "web"
    app_dir.mkdir(parents=True)
    (app_dir / "cm.json").write_text(
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},'
        ' "data": {"a": "1", "a": "2"}}'
    )

    with pytest.raises(RenderError, match=r"^apps/web/cm\.json: duplicate key 'a'$"):
        render_app(app=_app(), root=root)


def test_json_manifest_nested_too_deep_is_an_error_not_a_crash(root: Path) -> None:
    app_dir = root / "apps" / "web"
    app_dir.mkdir(parents=True)
    (app_dir / "deep.json").write_text("[" * 100_000 + "]" * 100_000)

    with pytest.raises(RenderError, match=r"^apps/web/deep\.json: nested too deep to decode$"):
        render_app(app=_app(), root=root)


def test_a_directory_render_reads_only_its_own_directory(root: Path) -> None:
    _checkout(root, "plain")
    assert render_app(app=_app(), root=root).inputs == ("apps/web",)
