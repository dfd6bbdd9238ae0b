"""Umbrella charts rendered by the real helm: values, locks, repositories, errors."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from gitward.config.apps import AppSpec, SourceKind
from gitward.dev.ports import free_port
from gitward.errors import RenderError
from gitward.objects import Manifest
from gitward.render import ChartDependency, render_app
from gitward.render.helm import read_chart, render_helm

from .helpers import (
    ChartRepo,
    HelmCli,
    OciRegistry,
    copy_web_chart,
    serve_chart_repo,
    snapshot,
    write_umbrella,
    write_yaml,
)

LOCAL_WEB = "file://../../charts/web"


def _app(**overrides: Any) -> AppSpec:
    fields: dict[str, Any] = {"name": "shop", "path": "apps/shop", "namespace": "store"}
    fields.update(overrides)
    return AppSpec(**fields)


def _by_ref(manifests: tuple[Manifest, ...]) -> dict[str, Manifest]:
    return {str(m.ref): m for m in manifests}


def _configmap(manifests: tuple[Manifest, ...], name: str) -> dict[str, str]:
    data: dict[str, str] = _by_ref(manifests)[f"ConfigMap/store/{name}"].body["data"]
    return data


def _local_shop(root: Path, helm_cli: HelmCli, *, api_version: str = "v2", **dep: str) -> Path:
    """``apps/shop`` depending on ``charts/web`` (0.1.0) by ``file://``, locked."""
    copy_web_chart(root / "charts" / "web")
    entry = {"name": "web", "version": "0.1.0", "repository": LOCAL_WEB, **dep}
    app_dir = write_umbrella(root / "apps" / "shop", dependencies=[entry], api_version=api_version)
    helm_cli.lock(app_dir)
    return app_dir


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


# -- values


def test_umbrella_values_file_reaches_its_subchart(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    write_yaml(app_dir / "web.yaml", {"greeting": "from the config repo", "replicas": 3})

    rendered = render_app(app=_app(), root=root)

    assert rendered.kind is SourceKind.HELM
    assert _configmap(rendered.manifests, "shop-web")["greeting"] == "from the config repo"
    assert _by_ref(rendered.manifests)["Deployment/store/shop-web"].body["spec"]["replicas"] == 3


def test_values_file_of_an_aliased_chart_is_named_after_its_alias(
    root: Path, helm_cli: HelmCli
) -> None:
    copy_web_chart(root / "charts" / "web")
    app_dir = write_umbrella(
        root / "apps" / "shop",
        dependencies=[
            {"name": "web", "version": "0.1.0", "repository": LOCAL_WEB, "alias": "front"},
            {"name": "web", "version": "0.1.0", "repository": LOCAL_WEB, "alias": "back"},
        ],
    )
    helm_cli.lock(app_dir)
    write_yaml(app_dir / "front.yaml", {"greeting": "I am the front"})
    write_yaml(app_dir / "back.yaml", {"greeting": "I am the back"})

    rendered = render_app(app=_app(), root=root)

    assert _configmap(rendered.manifests, "shop-front")["greeting"] == "I am the front"
    assert _configmap(rendered.manifests, "shop-back")["greeting"] == "I am the back"
    assert [(c.name, c.alias) for c in rendered.charts] == [("web", "front"), ("web", "back")]


def test_values_precedence_is_umbrella_then_per_chart_file_then_app_values_files(
    root: Path, helm_cli: HelmCli
) -> None:
    app_dir = _local_shop(root, helm_cli)
    write_yaml(
        app_dir / "values.yaml",
        {"web": {"greeting": "umbrella", "color": "umbrella", "replicas": 2}},
    )
    write_yaml(app_dir / "web.yaml", {"greeting": "per-chart", "color": "per-chart"})
    write_yaml(app_dir / "prod.yaml", {"web": {"color": "prod"}})

    rendered = render_app(app=_app(values_files=("prod.yaml",)), root=root)

    data = _configmap(rendered.manifests, "shop-web")
    assert (data["greeting"], data["color"]) == ("per-chart", "prod")
    assert _by_ref(rendered.manifests)["Deployment/store/shop-web"].body["spec"]["replicas"] == 2


def test_values_files_may_live_elsewhere_in_the_repository(root: Path, helm_cli: HelmCli) -> None:
    _local_shop(root, helm_cli)
    write_yaml(root / "env" / "prod.yaml", {"web": {"color": "shared"}})

    rendered = render_app(app=_app(values_files=("../../env/prod.yaml",)), root=root)

    assert _configmap(rendered.manifests, "shop-web")["color"] == "shared"


def test_missing_values_file_is_named(root: Path, helm_cli: HelmCli) -> None:
    _local_shop(root, helm_cli)

    with pytest.raises(RenderError, match=r"^apps/shop/prod\.yaml: values file not found$"):
        render_app(app=_app(values_files=("prod.yaml",)), root=root)


def test_invalid_per_chart_values_file_names_file_and_line(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    (app_dir / "web.yaml").write_text("greeting: hi\ncolor: a: b\n")

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value).startswith("apps/shop/web.yaml:2: mapping values are not allowed")


def test_invalid_app_values_file_names_file_and_line(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    (app_dir / "prod.yaml").write_text("web:\n  color: [unclosed\n")

    with pytest.raises(RenderError, match=r"^apps/shop/prod\.yaml:\d+: "):
        render_app(app=_app(values_files=("prod.yaml",)), root=root)


def test_invalid_umbrella_values_yaml_names_file_and_line(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    (app_dir / "values.yaml").write_text("web:\n  greeting: hi\n bad: indent\n")

    with pytest.raises(RenderError, match=r"^apps/shop/values\.yaml:3: "):
        render_app(app=_app(), root=root)


def test_per_chart_values_file_must_be_a_mapping(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    (app_dir / "web.yaml").write_text("- a\n- b\n")

    with pytest.raises(RenderError, match=r"^apps/shop/web\.yaml:1: values for chart web must be"):
        render_app(app=_app(), root=root)


# -- what comes out


def test_sources_are_template_paths_relative_to_the_app(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    (app_dir / "templates").mkdir()
    write_yaml(
        app_dir / "templates" / "quota.yaml",
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "shop"}},
    )

    rendered = render_app(app=_app(), root=root)

    assert sorted((str(m.ref), m.source) for m in rendered.manifests) == [
        ("ConfigMap/store/shop-web", "charts/web/templates/configmap.yaml"),
        ("Deployment/store/shop-web", "charts/web/templates/deployment.yaml"),
        ("ResourceQuota/shop", "templates/quota.yaml"),
    ]


def test_hooks_and_crds_are_kept(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    write_yaml(
        app_dir / "crds" / "widgets.yaml",
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
        },
    )
    (app_dir / "templates").mkdir()
    (app_dir / "templates" / "migrate.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n"
        "  annotations:\n    helm.sh/hook: pre-upgrade\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-the-job\n"
    )

    rendered = render_app(app=_app(), root=root)

    by_ref = _by_ref(rendered.manifests)
    assert by_ref["CustomResourceDefinition/widgets.example.com"].source == "crds/widgets.yaml"
    assert by_ref["Job/migrate"].annotations == {"helm.sh/hook": "pre-upgrade"}
    assert by_ref["ConfigMap/after-the-job"].source == "templates/migrate.yaml"


def test_template_failure_names_the_template_file_and_line(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    (app_dir / "templates").mkdir()
    (app_dir / "templates" / "bad.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: {{ .Values.nope.deeper }}\n"
    )

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    message = str(caught.value)
    assert message.startswith("apps/shop/templates/bad.yaml:4: ")
    assert "nil pointer" in message
    assert "\n" not in message


def test_rendered_object_without_a_name_names_its_template(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    (app_dir / "templates").mkdir()
    (app_dir / "templates" / "anon.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")

    with pytest.raises(RenderError, match=r"^apps/shop/templates/anon\.yaml \(rendered\):1: "):
        render_app(app=_app(), root=root)


def test_the_checkout_is_never_written(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    write_yaml(app_dir / "web.yaml", {"greeting": "hi"})
    before = snapshot(root)

    render_app(app=_app(), root=root)

    assert snapshot(root) == before


def test_chart_without_a_lock_is_resolved_with_dependency_update(
    root: Path, helm_cli: HelmCli
) -> None:
    app_dir = _local_shop(root, helm_cli)
    (app_dir / "Chart.lock").unlink()
    before = snapshot(root)

    rendered = render_app(app=_app(), root=root)

    assert "ConfigMap/store/shop-web" in _by_ref(rendered.manifests)
    assert rendered.charts[0].version == "0.1.0"
    assert snapshot(root) == before


def test_chart_without_dependencies_renders_without_a_dependency_step(
    root: Path, helm_cli: HelmCli
) -> None:
    copy_web_chart(root / "apps" / "shop")

    rendered = render_app(app=_app(), root=root)

    assert sorted(_by_ref(rendered.manifests)) == [
        "ConfigMap/store/shop-web",
        "Deployment/store/shop-web",
    ]
    assert rendered.charts == ()


# -- apiVersion v1 charts


def test_requirements_yaml_of_an_apiversion_v1_chart_is_honoured(
    root: Path, helm_cli: HelmCli
) -> None:
    app_dir = _local_shop(root, helm_cli, api_version="v1", alias="xposer")
    assert (app_dir / "requirements.lock").is_file()
    write_yaml(app_dir / "xposer.yaml", {"greeting": "v1 umbrella"})

    rendered = render_app(app=_app(), root=root)

    assert _configmap(rendered.manifests, "shop-xposer")["greeting"] == "v1 umbrella"
    assert rendered.charts[0].alias == "xposer"


def test_v1_lock_mismatch_names_requirements_files(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli, api_version="v1")
    write_yaml(
        app_dir / "requirements.yaml",
        {"dependencies": [{"name": "web", "version": "0.2.0", "repository": LOCAL_WEB}]},
    )

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == (
        "apps/shop/requirements.lock: chart web is locked at 0.1.0 but requirements.yaml "
        "asks for 0.2.0; run 'helm dependency update'"
    )


# -- locks


def test_lock_mismatch_names_the_chart_and_both_versions(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    write_umbrella(
        app_dir, dependencies=[{"name": "web", "version": "0.2.0", "repository": LOCAL_WEB}]
    )

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == (
        "apps/shop/Chart.lock: chart web is locked at 0.1.0 but Chart.yaml asks for 0.2.0; "
        "run 'helm dependency update'"
    )


def test_chart_missing_from_the_lock_is_named(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    copy_web_chart(root / "charts" / "api")
    write_umbrella(
        app_dir,
        dependencies=[
            {"name": "web", "version": "0.1.0", "repository": LOCAL_WEB},
            {"name": "api", "version": "0.1.0", "repository": "file://../../charts/api"},
        ],
    )

    with pytest.raises(RenderError, match=r"^apps/shop/Chart\.lock: chart api is not locked but"):
        render_app(app=_app(), root=root)


def test_chart_dropped_from_the_dependencies_but_still_locked_is_named(
    root: Path, helm_cli: HelmCli
) -> None:
    app_dir = _local_shop(root, helm_cli)
    write_umbrella(app_dir, dependencies=[])

    with pytest.raises(RenderError, match=r"^apps/shop/Chart\.lock: chart web is locked but"):
        render_app(app=_app(), root=root)


def test_changed_repository_is_named(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    copy_web_chart(root / "vendor" / "web")
    write_umbrella(
        app_dir,
        dependencies=[{"name": "web", "version": "0.1.0", "repository": "file://../../vendor/web"}],
    )

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == (
        f"apps/shop/Chart.lock: chart web is locked from {LOCAL_WEB} but Chart.yaml asks for "
        "file://../../vendor/web; run 'helm dependency update'"
    )


def test_any_other_drift_is_caught_by_helms_own_lock_digest(root: Path, helm_cli: HelmCli) -> None:
    app_dir = _local_shop(root, helm_cli)
    write_umbrella(
        app_dir,
        dependencies=[
            {"name": "web", "version": "0.1.0", "repository": LOCAL_WEB, "condition": "web.on"}
        ],
    )

    with pytest.raises(RenderError, match=r"^apps/shop/Chart\.lock: the lock file .* out of sync"):
        render_app(app=_app(), root=root)


# -- where charts come from


def test_file_dependency_outside_the_repository_is_refused(root: Path, helm_cli: HelmCli) -> None:
    write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "0.1.0", "repository": "file://../../../web"}],
    )

    with pytest.raises(RenderError, match=r"^apps/shop/Chart\.yaml: chart web: .* outside the"):
        render_app(app=_app(), root=root)


def test_repository_named_by_helm_repo_alias_is_refused(root: Path, helm_cli: HelmCli) -> None:
    write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "0.1.0", "repository": "@stable"}],
    )

    with pytest.raises(RenderError, match=r"^apps/shop/Chart\.yaml: chart web: repository '@st"):
        render_app(app=_app(), root=root)


def test_classic_repository_works_without_helm_repo_add(
    root: Path, helm_cli: HelmCli, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    chart_repo.publish(copy_web_chart(tmp_path / "src" / "web"))
    app_dir = write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "0.1.0", "repository": chart_repo.url}],
    )
    helm_cli.lock(app_dir)

    rendered = render_app(app=_app(), root=root)

    assert "ConfigMap/store/shop-web" in _by_ref(rendered.manifests)
    assert rendered.charts == (
        ChartDependency(
            name="web",
            alias="",
            version="0.1.0",
            repository=chart_repo.url,
            digest=_sha256(chart_repo.directory / "web-0.1.0.tgz"),
        ),
    )


def test_helm_keeps_its_state_under_the_gitward_cache_and_ignores_the_users(
    root: Path,
    helm_cli: HelmCli,
    chart_repo: ChartRepo,
    tmp_path: Path,
    isolated_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chart_repo.publish(copy_web_chart(tmp_path / "src" / "web"))
    app_dir = write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "0.1.0", "repository": chart_repo.url}],
    )
    helm_cli.lock(app_dir)
    users = tmp_path / "users-helm"
    users.write_text("not a directory")
    for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME", "HELM_REPOSITORY_CONFIG"):
        monkeypatch.setenv(name, str(users / "x"))

    render_app(app=_app(), root=root)

    indexes = list((isolated_cache / "helm" / "cache" / "repository").glob("gitward-*-index.yaml"))
    assert len(indexes) == 1
    assert list((isolated_cache / "helm" / "charts").glob("*/web-0.1.0.tgz"))


def test_unknown_version_in_a_classic_repository_is_named(
    root: Path, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    chart_repo.publish(copy_web_chart(tmp_path / "src" / "web"))
    write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "9.9.9", "repository": chart_repo.url}],
    )

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == f"chart web version 9.9.9 not found in {chart_repo.url}"


def test_locked_version_that_left_the_repository_is_named(
    root: Path, helm_cli: HelmCli, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    chart_repo.publish(copy_web_chart(tmp_path / "src" / "web-1", version="0.1.0"))
    chart_repo.publish(copy_web_chart(tmp_path / "src" / "web-2", version="0.2.0"))
    app_dir = write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "0.2.0", "repository": chart_repo.url}],
    )
    helm_cli.lock(app_dir)
    chart_repo.remove("web-0.2.0.tgz")

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == f"chart web version 0.2.0 not found in {chart_repo.url}"


def test_unreachable_repository_is_named(root: Path, helm_cli: HelmCli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "0.1.0", "repository": url}],
    )

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value).startswith(f"chart web: repository {url} is unreachable: ")
    assert "connection refused" in str(caught.value)


def test_locked_chart_from_a_repository_that_went_away_is_named(
    root: Path, helm_cli: HelmCli, tmp_path: Path
) -> None:
    app_dir = root / "apps" / "shop"
    with serve_chart_repo(tmp_path / "gone", helm_cli) as repo:
        repo.publish(copy_web_chart(tmp_path / "src" / "web"))
        write_umbrella(
            app_dir, dependencies=[{"name": "web", "version": "0.1.0", "repository": repo.url}]
        )
        helm_cli.lock(app_dir)

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value).startswith(f"chart web: repository {repo.url} is unreachable: ")


def test_built_charts_are_reused_without_downloading_again(
    root: Path, helm_cli: HelmCli, tmp_path: Path
) -> None:
    app_dir = root / "apps" / "shop"
    with serve_chart_repo(tmp_path / "once", helm_cli) as repo:
        repo.publish(copy_web_chart(tmp_path / "src" / "web"))
        write_umbrella(
            app_dir, dependencies=[{"name": "web", "version": "0.1.0", "repository": repo.url}]
        )
        helm_cli.lock(app_dir)
        first = render_app(app=_app(), root=root)
    # The repository is gone; a values change must still render from the chart cache.
    write_yaml(app_dir / "web.yaml", {"greeting": "offline"})

    second = render_app(app=_app(), root=root)

    assert _configmap(second.manifests, "shop-web")["greeting"] == "offline"
    assert second.charts == first.charts


def test_apps_sharing_a_locked_chart_download_it_once(
    root: Path, helm_cli: HelmCli, tmp_path: Path
) -> None:
    regions = ["shop", "shop-eu"]
    with serve_chart_repo(tmp_path / "once", helm_cli) as repo:
        repo.publish(copy_web_chart(tmp_path / "src" / "web"))
        for region in regions:
            app_dir = write_umbrella(
                root / "apps" / region,
                dependencies=[{"name": "web", "version": "0.1.0", "repository": repo.url}],
            )
            helm_cli.lock(app_dir)
        # The lock records when it was made: the second app's must be the first's.
        lock = (root / "apps" / "shop" / "Chart.lock").read_text()
        (root / "apps" / "shop-eu" / "Chart.lock").write_text(lock)
        first = render_app(app=_app(), root=root)
    # The repository is gone: the second app's dependency build is the first's, from disk.
    second = render_app(app=_app(name="shop-eu", path="apps/shop-eu"), root=root)

    assert second.charts == first.charts
    assert _configmap(second.manifests, "shop-eu-web") == _configmap(first.manifests, "shop-web")


def test_oci_dependency_from_a_plain_http_registry(
    root: Path, helm_cli: HelmCli, oci_registry: OciRegistry, tmp_path: Path
) -> None:
    archive = helm_cli.package(copy_web_chart(tmp_path / "src" / "web"), tmp_path / "dist")
    oci_registry.push(archive)
    app_dir = write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "0.1.0", "repository": oci_registry.url}],
    )
    helm_cli.lock(app_dir, "--plain-http")
    write_yaml(app_dir / "web.yaml", {"greeting": "from oci"})

    rendered = render_app(app=_app(), root=root)

    assert _configmap(rendered.manifests, "shop-web")["greeting"] == "from oci"
    assert rendered.charts[0].repository == oci_registry.url
    assert rendered.charts[0].digest == _sha256(archive)


def test_unknown_oci_version_is_named(
    root: Path, helm_cli: HelmCli, oci_registry: OciRegistry, tmp_path: Path
) -> None:
    oci_registry.push(helm_cli.package(copy_web_chart(tmp_path / "src" / "web"), tmp_path / "d"))
    write_umbrella(
        root / "apps" / "shop",
        dependencies=[{"name": "web", "version": "9.9.9", "repository": oci_registry.url}],
    )

    with pytest.raises(RenderError) as caught:
        render_app(app=_app(), root=root)

    assert str(caught.value) == f"chart web version 9.9.9 not found in {oci_registry.url}"


def test_oci_registries_on_loopback_and_remote_cannot_be_mixed(root: Path) -> None:
    write_umbrella(
        root / "apps" / "shop",
        dependencies=[
            {"name": "web", "version": "0.1.0", "repository": "oci://127.0.0.1:5000/charts"},
            {"name": "api", "version": "0.1.0", "repository": "oci://registry.example.com/c"},
        ],
    )

    with pytest.raises(RenderError, match=r"^apps/shop/Chart\.yaml: OCI dependencies mix"):
        render_app(app=_app(), root=root)


# -- helm itself


def test_helm_that_hangs_is_stopped_after_its_timeout(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "helm"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GITWARD_HELM", str(fake))
    app_dir = copy_web_chart(root / "apps" / "shop")
    chart = read_chart(app_dir=app_dir, label="apps/shop")
    started = time.monotonic()

    with pytest.raises(RenderError) as caught:
        render_helm(
            chart=chart, root=root, release="shop", namespace="store", values_files=(), timeout=0.5
        )

    assert str(caught.value) == "chart web: helm template timed out after 0.5s"
    assert time.monotonic() - started < 10
