"""Hooks and waves as Argo CD and Helm repositories use them, on the real control plane.

The objects follow the shapes of Argo CD's and Helm's own examples: hook Jobs
named by ``generateName`` with delete policies, waves of a database before
its app, a migration as a Helm ``pre-install`` hook in a namespace gitward
creates. kwok makes Pods Ready and Jobs Complete within a second or so;
``minReadySeconds`` makes a Deployment take longer, and a ``nodeSelector``
no node matches, with a one-second progress deadline, makes one Degraded.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from gitward.apply.changes import Outcome
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import ConfigRepo, gitward
from tests.e2e.test_sync_engine import sync_in_process


def job(name: str, annotations: dict[str, str], *, generate: bool = False) -> str:
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {("generateName" if generate else "name"): name, "annotations": annotations},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "run", "image": "example.com/run:1"}],
                }
            },
        },
    }
    return "---\n" + yaml.safe_dump(body, sort_keys=False)


def deployment(name: str, annotations: dict[str, str] | None = None, **spec: Any) -> str:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": "example.com/app:1"}]},
            },
            **spec,
        },
    }
    return "---\n" + yaml.safe_dump(body, sort_keys=False)


def configmap(name: str, annotations: dict[str, str] | None = None, **data: str) -> str:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "annotations": annotations or {}},
        "data": data,
    }
    return "---\n" + yaml.safe_dump(body, sort_keys=False)


def app_repo(tmp_path: Path, app: str, namespace: str, **extra: Any) -> ConfigRepo:
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml",
        {"apps": [{"name": app, "path": "app", "namespace": namespace, **extra}]},
    )
    return repo


def sync(repo: ConfigRepo, app: str) -> Any:
    result = gitward("sync", app, "--repo", repo.url, "--revision", "main", "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def jobs(cluster: Cluster, namespace: str) -> dict[str, dict[str, Any]]:
    return {
        j["metadata"]["name"]: j
        for j in cluster.list("batch/v1", "Job", namespace)
        if not j["metadata"].get("deletionTimestamp")
    }


def completed_at(j: dict[str, Any]) -> str:
    return str(
        next(c for c in j["status"]["conditions"] if c["type"] == "Complete")["lastTransitionTime"]
    )


def created(body: dict[str, Any] | None) -> datetime:
    assert body is not None
    return datetime.fromisoformat(body["metadata"]["creationTimestamp"].replace("Z", "+00:00"))


def status_objects(repo: ConfigRepo, app: str) -> list[str]:
    result = gitward("status", app, "--repo", repo.url, "--revision", "main", "-o", "json")
    return sorted(o["object"] for o in json.loads(result.stdout)["objects"])


def test_argo_hooks_with_generate_name_run_in_their_phase_and_never_join_the_inventory(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = app_repo(tmp_path, app_name, namespace)
    repo.write(
        "app/hooks.yaml",
        job(
            "migrate-",
            {
                "argocd.argoproj.io/hook": "PreSync",
                "argocd.argoproj.io/hook-delete-policy": "HookFailed",
            },
            generate=True,
        )
        + job(
            "smoke",
            {
                "argocd.argoproj.io/hook": "PostSync",
                "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
            },
        ),
    )
    repo.write("app/app.yaml", deployment("web") + configmap("cfg", v="1"))
    repo.commit("app with Argo hooks")

    first = [(c["object"], c["outcome"]) for c in sync(repo, app_name)["changes"]]

    [migrate] = jobs(cluster, namespace)  # smoke succeeded and was deleted
    assert migrate.startswith("migrate-") and migrate != "migrate-"
    assert first == [
        (f"Job/{namespace}/{migrate}", "hook-succeeded"),
        (f"ConfigMap/{namespace}/cfg", "created"),
        (f"Deployment/{namespace}/web", "created"),
        (f"Job/{namespace}/smoke", "hook-succeeded"),
    ]
    web = cluster.get("apps/v1", "Deployment", "web", namespace)
    assert (
        web
        and completed_at(jobs(cluster, namespace)[migrate]) <= web["metadata"]["creationTimestamp"]
    )
    assert web["status"].get("availableReplicas") == 1, "PostSync runs once the objects are Healthy"
    hook_job = jobs(cluster, namespace)[migrate]
    assert "gitward.io/tracking-id" not in hook_job["metadata"]["annotations"]
    assert {e["manager"] for e in hook_job["metadata"]["managedFields"]} >= {f"gitward/{app_name}"}
    assert status_objects(repo, app_name) == [
        f"ConfigMap/{namespace}/cfg",
        f"Deployment/{namespace}/web",
    ]

    assert [c["outcome"] for c in sync(repo, app_name)["changes"]] == ["unchanged", "unchanged"]
    assert list(jobs(cluster, namespace)) == [migrate], "a sync that changes nothing runs no hook"

    repo.write("app/app.yaml", deployment("web") + configmap("cfg", v="2"))
    repo.commit("change the config")
    sync(repo, app_name)
    runs = sorted(j for j in jobs(cluster, namespace) if j.startswith("migrate-"))
    assert len(runs) == 2 and migrate in runs, "each run is a new Job; hooks are never pruned"


def test_each_wave_starts_once_the_previous_wave_is_healthy(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = app_repo(tmp_path, app_name, namespace)
    repo.write(
        "app/app.yaml",
        configmap("db-config", {"argocd.argoproj.io/sync-wave": "0"}, v="1")
        + deployment("db", {"argocd.argoproj.io/sync-wave": "1"}, minReadySeconds=3)
        + configmap("app-config", {"gitward.io/sync-wave": "2"}, v="1"),
    )
    repo.commit("three waves")

    first, _ = sync_in_process(cluster, repo, app_name)
    assert first.changes is not None and first.changes.count(Outcome.CREATED) == 3

    db = cluster.get("apps/v1", "Deployment", "db", namespace)
    after = cluster.get("v1", "ConfigMap", "app-config", namespace)
    assert db is not None and db["status"].get("availableReplicas") == 1
    # Available only minReadySeconds after its pod is Ready: wave 2 waited for it.
    assert (created(after) - created(db)).total_seconds() >= 3

    second, stats = sync_in_process(cluster, repo, app_name)
    assert second.changes is not None and not second.changes.wrote
    writes = {v: n for v, n in stats.items() if v in ("patch", "create", "update", "delete")}
    assert writes == {} and stats.get("patch-dry-run", 0) == 0
    # What any no-op sync of these objects reads: the app's record (inventory and
    # history) and the lone Deployment (the records namespace was checked once, by
    # the first sync in this process); namespaces and the ConfigMaps. No health.
    reads = (stats.get("get", 0), stats.get("list", 0))
    assert reads == (2, 2), f"unchanged waves wait for nothing: {stats}"


STUCK: dict[str, Any] = {
    "progressDeadlineSeconds": 1,
    "template": {
        "metadata": {"labels": {"app": "stuck"}},
        "spec": {
            "nodeSelector": {"gitward.io/no-such-node": "true"},
            "containers": [{"name": "stuck", "image": "example.com/app:1"}],
        },
    },
}


def test_a_degraded_wave_fails_the_sync_naming_it_and_runs_the_syncfail_hook(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = app_repo(tmp_path, app_name, namespace)
    repo.write(
        "app/app.yaml",
        deployment("stuck", {"argocd.argoproj.io/sync-wave": "0"}, **STUCK)
        + configmap("later", {"argocd.argoproj.io/sync-wave": "1"}, v="1")
        + job("on-fail", {"argocd.argoproj.io/hook": "SyncFail"}),
    )
    repo.commit("a wave that cannot become healthy")

    result = gitward("sync", app_name, "--repo", repo.url, "--revision", "main", "--timeout", "60")

    assert result.returncode == 3, result.stderr
    assert f"Deployment/{namespace}/stuck: Degraded" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cluster.get("v1", "ConfigMap", "later", namespace) is None
    assert "on-fail" in jobs(cluster, namespace), "SyncFail hooks run when the sync fails"


PRE_INSTALL_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "templates/hooks.yaml": job(
        "install-db", {"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "-1"}
    )
    + job("upgrade-db", {"helm.sh/hook": "pre-upgrade"})
    + job("announce", {"helm.sh/hook": "post-install"}),
}


def test_pre_install_hooks_run_in_a_created_namespace_until_a_sync_succeeds(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    fresh = f"{namespace}-new"  # gitward creates it
    repo = app_repo(tmp_path, app_name, fresh, createNamespace=True)
    for rel, text in PRE_INSTALL_CHART.items():
        repo.write(f"app/{rel}", text)
    repo.write("app/templates/app.yaml", deployment("stuck", **STUCK))
    repo.commit("shop that cannot become healthy")
    try:
        failed = gitward("sync", app_name, "--repo", repo.url, "--revision", "main")
        assert failed.returncode == 3, failed.stderr
        first = jobs(cluster, fresh)
        assert set(first) == {"install-db"}, "pre-install ran in the namespace gitward created"

        repo.write("app/templates/app.yaml", deployment("web"))
        repo.commit("fix the shop")
        retried = [
            (c["object"], c["outcome"], c["message"]) for c in sync(repo, app_name)["changes"]
        ]
        assert (f"Job/{fresh}/install-db", "hook-succeeded", "pre-install") in retried
        assert (f"Job/{fresh}/announce", "hook-succeeded", "post-install") in retried
        after = jobs(cluster, fresh)
        assert set(after) == {"install-db", "announce"}
        assert after["install-db"]["metadata"]["uid"] != first["install-db"]["metadata"]["uid"]

        repo.write("app/templates/app.yaml", deployment("web") + configmap("cfg", v="1"))
        repo.commit("an upgrade")
        upgraded = [(c["object"], c["message"]) for c in sync(repo, app_name)["changes"]]
        assert (f"Job/{fresh}/upgrade-db", "pre-upgrade") in upgraded
        assert not any(o.endswith(("install-db", "announce")) for o, _ in upgraded)
    finally:
        cluster.delete("v1", "Namespace", fresh)


def test_annotations_gitward_cannot_honour_fail_the_plan_naming_them(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    cases = {
        "two waves": (
            configmap(
                "c", {"gitward.io/sync-wave": "1", "argocd.argoproj.io/sync-wave": "2"}, v="1"
            ),
            ["gitward.io/sync-wave: '1'", "argocd.argoproj.io/sync-wave: '2'"],
        ),
        "two hook phases": (
            job("j", {"helm.sh/hook": "pre-install", "argocd.argoproj.io/hook": "PostSync"}),
            ["helm.sh/hook: 'pre-install'", "argocd.argoproj.io/hook: 'PostSync'"],
        ),
        "an unsupported sync option": (
            configmap("c", {"argocd.argoproj.io/sync-options": "Prune=confirm"}, v="1"),
            ["argocd.argoproj.io/sync-options: Prune=confirm is not supported"],
        ),
        "an unknown sync option": (
            configmap("c", {"argocd.argoproj.io/sync-options": "Frobnicate=true"}, v="1"),
            ["unknown option 'Frobnicate=true'"],
        ),
        "generateName on an object that is no hook": (
            job("j-", {}, generate=True),
            ["metadata.generateName works only on hooks"],
        ),
    }
    repo = app_repo(tmp_path, app_name, namespace)
    for case, (text, needles) in cases.items():
        repo.write("app/objects.yaml", configmap("fine", v="1") + text)
        repo.commit(case)
        result = gitward("sync", app_name, "--repo", repo.url, "--revision", "main")
        assert result.returncode == 2, (case, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (case, result.stderr)
        assert all(n in lines[0] for n in needles), (case, lines[0])
        assert "nothing was applied" in lines[0]
    assert cluster.get("v1", "ConfigMap", "fine", namespace) is None


def test_sync_options_prune_false_keeps_and_replace_true_replaces(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = app_repo(tmp_path, app_name, namespace)
    kept = configmap("kept", {"argocd.argoproj.io/sync-options": "Prune=false"}, v="1")
    replaced = {"argocd.argoproj.io/sync-options": "Replace=true"}
    repo.write("app/objects.yaml", kept + configmap("whole", replaced, v="1"))
    repo.commit("options")
    sync(repo, app_name)
    # Another writer adds a key; server-side apply would leave it, a replace does not.
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "whole", "namespace": namespace},
            "data": {"theirs": "x"},
        },
        field_manager="someone-else",
    )

    repo.write("app/objects.yaml", configmap("whole", replaced, v="2"))
    repo.commit("drop kept, change whole")
    changes = {c["object"]: c for c in sync(repo, app_name)["changes"]}

    assert changes[f"ConfigMap/{namespace}/kept"]["outcome"] == "skipped"
    assert "Prune=false" in changes[f"ConfigMap/{namespace}/kept"]["message"]
    assert cluster.get("v1", "ConfigMap", "kept", namespace) is not None
    whole = cluster.get("v1", "ConfigMap", "whole", namespace)
    assert whole is not None and whole["data"] == {"v": "2"}


def test_create_namespace_sync_option_creates_the_objects_namespace(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    other = f"{namespace}-other"
    repo = app_repo(tmp_path, app_name, namespace)
    body = yaml.safe_load(
        configmap("elsewhere", {"argocd.argoproj.io/sync-options": "CreateNamespace=true"}, v="1")
    )
    body["metadata"]["namespace"] = other
    repo.write("app/objects.yaml", yaml.safe_dump(body))
    repo.commit("an object in a namespace that does not exist")
    try:
        sync(repo, app_name)
        assert cluster.get("v1", "ConfigMap", "elsewhere", other) is not None
        assert status_objects(repo, app_name) == [f"ConfigMap/{other}/elsewhere"]
    finally:
        cluster.delete("v1", "Namespace", other)
