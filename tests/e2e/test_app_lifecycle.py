"""Apps that leave gitward.yaml: pruned with their records, or left behind on purpose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import ConfigRepo, gitward
from tests.e2e.test_controller import eventually, start_controller


def cm(name: str) -> str:
    return f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{k: v}}\n"


def crd(group: str) -> str:
    return (
        "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        f"metadata: {{name: widgets.{group}}}\n"
        f"spec:\n  group: {group}\n  scope: Namespaced\n"
        "  names: {plural: widgets, singular: widget, kind: Widget}\n"
        "  versions:\n  - name: v1\n    served: true\n    storage: true\n"
        "    schema:\n      openAPIV3Schema:\n"
        "        {type: object, x-kubernetes-preserve-unknown-fields: true}\n"
    )


def apps(namespace: str, *entries: tuple[str, str, bool]) -> dict[str, Any]:
    return {
        "apps": [
            {"name": name, "path": path, "namespace": namespace, "prune": prune}
            for name, path, prune in entries
        ]
    }


def test_sync_prune_apps_prunes_a_removed_app_and_orphans_one_that_did_not_prune(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    pruning, keeping, staying = f"{app_name}-p", f"{app_name}-k", f"{app_name}-s"
    group = f"{app_name}.example.com"
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml",
        apps(namespace, (pruning, "p", True), (keeping, "k", False), (staying, "s", True)),
    )
    repo.write("p/objects.yaml", cm("p-0") + cm("p-1") + crd(group))
    repo.write("k/objects.yaml", cm("k-0"))
    repo.write("s/objects.yaml", cm("s-0"))
    repo.commit("three apps")
    args = ("--repo", repo.url, "--revision", "main")
    try:
        assert gitward("sync", *args).returncode == 0

        repo.write("gitward.yaml", apps(namespace, (staying, "s", True)))
        repo.commit("two apps leave")
        plain = gitward("sync", *args)
        assert plain.returncode == 0
        assert cluster.get("v1", "ConfigMap", "p-0", namespace), "removed without --prune-apps"

        result = gitward("sync", "--prune-apps", *args)

        assert result.returncode == 0, result.stderr
        names = {c["metadata"]["name"] for c in cluster.list("v1", "ConfigMap", namespace)}
        assert not {"p-0", "p-1"} & names
        assert {"k-0", "s-0"} <= names
        assert f"{pruning}: removed from gitward.yaml; 2 object(s) pruned" in result.stdout
        assert f"{keeping}: removed from gitward.yaml; prune was off" in result.stdout
        # Deleting a CRD deletes every custom resource of its kind: never by default.
        assert cluster.get(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}"
        )
        assert f"kept CustomResourceDefinition/widgets.{group}: a CustomResourceDefinition" in (
            result.stdout
        )
        assert cluster.records(pruning) == [] and cluster.records(keeping) == []
        assert cluster.records(staying) == ["inventory", "history"]
    finally:
        cluster.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}")
        cluster.forget_apps(pruning, keeping, staying)


def test_the_controller_prunes_an_app_removed_from_gitward_yaml(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    leaving, staying = f"{app_name}-l", f"{app_name}-s"
    repo = ConfigRepo(tmp_path / "config")
    entry = {"namespace": namespace, "autoSync": True, "selfHeal": True}
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {"name": leaving, "path": "l", **entry},
                {"name": staying, "path": "s", **entry},
            ]
        },
    )
    repo.write("l/objects.yaml", cm("l-0"))
    repo.write("s/objects.yaml", cm("s-0"))
    repo.commit("two apps")
    running = start_controller(repo, tmp_path, poll=0.5)
    try:
        eventually(lambda: running.app(leaving)["sync"] == "Synced", what="both synced")
        repo.write("gitward.yaml", {"apps": [{"name": staying, "path": "s", **entry}]})
        repo.commit("one app leaves")
        eventually(lambda: cluster.get("v1", "ConfigMap", "l-0", namespace) is None, what="pruned")
        eventually(lambda: cluster.records(leaving) == [], what="records deleted")
        assert cluster.get("v1", "ConfigMap", "s-0", namespace) is not None
        assert "retired app=" in running.log.read_text()
    finally:
        running.stop()
        cluster.forget_apps(leaving, staying)
