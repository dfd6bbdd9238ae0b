"""Failures are results: exit codes, history, status and multi-app syncs tell what happened."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import ConfigRepo, gitward
from tests.e2e.test_controller import eventually, start_controller
from tests.e2e.test_sync_engine import CRD

REJECT_LABEL = "e2e.gitward.io/reject"


def configmap(name: str, *, wave: int = 0, labels: dict[str, str] | None = None) -> str:
    meta: dict[str, Any] = {"name": name, "annotations": {"gitward.io/sync-wave": str(wave)}}
    if labels:
        meta["labels"] = labels
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {}})


# A kind the cluster does not serve: a plan error. Its scope is unknown, so its
# reference has no namespace.
GADGET = "apiVersion: nope.example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n"

STUCK = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  progressDeadlineSeconds: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {no-such-node: 'true'}
      containers: [{name: web, image: "example.com/web:1"}]
"""


def repo_with(
    tmp_path: Path, app: str, namespace: str, files: dict[str, str], **spec: object
) -> ConfigRepo:
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml", {"apps": [{"name": app, "path": "app", "namespace": namespace, **spec}]}
    )
    for rel, text in files.items():
        repo.write(f"app/{rel}", text)
    repo.commit("initial")
    return repo


def sync(repo: ConfigRepo, *args: str) -> Any:
    return gitward("sync", *args, "--repo", repo.url, "--revision", "main")


def history(app: str) -> list[dict[str, Any]]:
    result = gitward("history", app, "-o", "json")
    assert result.returncode == 0, result.stderr
    out: list[dict[str, Any]] = json.loads(result.stdout)
    return out


def history_version(cluster: Cluster, app: str) -> str:
    cm = cluster.get("v1", "ConfigMap", f"gitward-app-{app}", "gitward-system")
    assert cm is not None
    return str(cm["metadata"]["resourceVersion"])


def one_error_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return str(lines[0])


@pytest.fixture
def rejecting(cluster: Cluster, namespace: str) -> Iterator[str]:
    """A ValidatingAdmissionPolicy that lets a labelled ConfigMap pass dry-run and refuses
    its real write in ``namespace``: a change the cluster refuses only at apply time."""
    name = f"gitward-e2e-reject-{namespace}"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["configmaps"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": "request.dryRun == true || "
                    "!has(object.metadata.labels) || "
                    f"!('{REJECT_LABEL}' in object.metadata.labels)",
                    "message": "refused by the e2e admission policy",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
    cluster.apply(policy)
    cluster.apply(binding)
    probe = json.loads(configmap("probe", labels={REJECT_LABEL: "yes"}))
    probe["metadata"]["namespace"] = namespace

    def refused() -> bool:
        try:
            cluster.apply(probe)
        except Exception:
            return True
        cluster.delete("v1", "ConfigMap", "probe", namespace)
        return False

    try:
        cluster.wait_for(refused, timeout=60, what="the admission policy to take effect")
        yield REJECT_LABEL
    finally:
        cluster.delete("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", name)
        cluster.delete("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", name)


def test_a_change_refused_half_way_exits_3_and_history_lists_what_was_created(
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    app_name: str,
    rejecting: str,
) -> None:
    repo = repo_with(
        tmp_path,
        app_name,
        namespace,
        {
            "a.yaml": configmap("a", wave=0),
            "b.yaml": configmap("b", wave=1, labels={rejecting: "yes"}),
            "c.yaml": configmap("c", wave=2),
        },
    )

    result = sync(repo, app_name, "-o", "json")

    assert result.returncode == 3, result.stderr
    line = one_error_line(result)
    assert f"ConfigMap/{namespace}/b" in line and "refused by the e2e admission policy" in line
    outcomes = {c["object"]: c["outcome"] for c in json.loads(result.stdout)["changes"]}
    assert outcomes == {
        f"ConfigMap/{namespace}/a": "created",
        f"ConfigMap/{namespace}/b": "failed",
        f"ConfigMap/{namespace}/c": "skipped",
    }
    assert cluster.get("v1", "ConfigMap", "a", namespace) is not None
    assert cluster.get("v1", "ConfigMap", "c", namespace) is None

    newest = history(app_name)[0]
    assert (newest["result"], newest["exitCode"]) == ("failed", 3)
    assert f"ConfigMap/{namespace}/b" in newest["message"]
    actions = {a["object"]: a["outcome"] for a in newest["actions"]}
    assert actions == {
        f"ConfigMap/{namespace}/a": "created",
        f"ConfigMap/{namespace}/b": "failed",
    }


def test_a_refused_hook_fails_the_sync_with_exit_3_before_anything_else_is_applied(
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    app_name: str,
    rejecting: str,
) -> None:
    hook = json.loads(configmap("migrate", labels={rejecting: "yes"}))
    hook["metadata"]["annotations"] = {"helm.sh/hook": "pre-install"}
    repo = repo_with(
        tmp_path, app_name, namespace, {"hook.yaml": json.dumps(hook), "a.yaml": configmap("a")}
    )

    result = sync(repo, app_name, "-o", "json")

    assert result.returncode == 3, result.stderr
    assert f"ConfigMap/{namespace}/migrate" in one_error_line(result)
    outcomes = {c["object"]: c["outcome"] for c in json.loads(result.stdout)["changes"]}
    assert outcomes[f"ConfigMap/{namespace}/migrate"] == "failed"
    assert outcomes[f"ConfigMap/{namespace}/a"] == "skipped"
    assert cluster.get("v1", "ConfigMap", "a", namespace) is None
    newest = history(app_name)[0]
    assert (newest["result"], newest["exitCode"]) == ("failed", 3)
    assert [a["object"] for a in newest["actions"]] == [f"ConfigMap/{namespace}/migrate"]


def test_wait_on_a_degraded_deployment_exits_4_and_history_says_degraded(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_with(tmp_path, app_name, namespace, {"web.yaml": STUCK})

    result = sync(repo, app_name, "--wait", "--timeout", "120")

    assert result.returncode == 4, result.stderr
    assert f"Deployment/{namespace}/web: Degraded" in one_error_line(result)
    newest = history(app_name)[0]
    assert (newest["result"], newest["exitCode"]) == ("degraded", 4)
    assert f"Deployment/{namespace}/web: Degraded" in newest["message"]
    assert newest["actions"] == [
        {"object": f"Deployment/{namespace}/web", "outcome": "created", "message": ""}
    ]

    status = gitward("status", app_name, "--repo", repo.url, "--revision", "main", "-o", "json")
    view = json.loads(status.stdout)
    assert view["lastSyncResult"] == "degraded"
    assert view["message"].startswith("last sync degraded: "), view["message"]


def test_a_wait_that_times_out_is_recorded_as_timed_out(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    pending = STUCK.replace("  progressDeadlineSeconds: 1\n", "  progressDeadlineSeconds: 600\n")
    repo = repo_with(tmp_path, app_name, namespace, {"web.yaml": pending})

    result = sync(repo, app_name, "--wait", "--timeout", "2")

    assert result.returncode == 4, result.stderr
    assert "after 2s" in one_error_line(result)
    newest = history(app_name)[0]
    assert (newest["result"], newest["exitCode"]) == ("timed-out", 4)


def test_a_plan_error_is_recorded_once_however_often_it_is_retried(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_with(tmp_path, app_name, namespace, {"cm.yaml": configmap("a")})
    assert sync(repo, app_name).returncode == 0
    repo.write("app/gadget.yaml", GADGET)
    repo.commit("a kind the cluster does not serve")

    first = sync(repo, app_name)

    assert first.returncode == 2, first.stderr
    assert "Gadget" in one_error_line(first)
    records = history(app_name)
    assert [(r["result"], r["exitCode"]) for r in records] == [("failed", 2), ("succeeded", 0)]
    assert "Gadget" in records[0]["message"]
    version = history_version(cluster, app_name)
    for _ in range(2):
        again = sync(repo, app_name)
        assert again.returncode == 2
    assert history_version(cluster, app_name) == version, "the same failure was recorded again"


def test_the_controller_records_a_failing_app_once_and_says_why_a_manual_app_cannot_plan(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    manual, unrendered = f"{app_name}-m", f"{app_name}-r"
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {"name": app_name, "path": "auto", "namespace": namespace, "autoSync": True},
                {"name": manual, "path": "manual", "namespace": namespace},
                {"name": unrendered, "path": "broken", "namespace": namespace, "autoSync": True},
            ]
        },
    )
    repo.write("auto/gadget.yaml", GADGET)
    repo.write("manual/gadget.yaml", GADGET)
    repo.write("broken/web.yaml", "kind: [broken\n")
    repo.commit("two apps that cannot plan")
    running = start_controller(repo, tmp_path, poll=0.5)
    try:
        auto = eventually(
            lambda: running.app(app_name)["lastSyncResult"] == "failed" and running.app(app_name),
            what="the failed sync",
        )
        assert "Gadget" in auto["message"]
        assert "Gadget" in eventually(lambda: running.app(manual)["message"], what="message")
        eventually(lambda: running.app(unrendered)["lastSyncResult"] == "failed", what="render")
        versions = {a: history_version(cluster, a) for a in (app_name, unrendered)}
        time.sleep(3)  # several polls, each retrying the failed apps
        assert {a: history_version(cluster, a) for a in versions} == versions
        records = running.get(f"/api/v1/apps/{app_name}/history")["history"]
        assert [(r["result"], r["exitCode"]) for r in records] == [("failed", 2)]
        broken = running.get(f"/api/v1/apps/{unrendered}/history")["history"]
        assert [(r["result"], r["exitCode"]) for r in broken] == [("failed", 2)]
        assert "web.yaml" in broken[0]["message"]
    finally:
        running.stop()
        cluster.forget_apps(manual, unrendered)


def test_status_shows_a_reason_and_the_failing_object(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_with(tmp_path, app_name, namespace, {"cm.yaml": configmap("a")})
    assert sync(repo, app_name).returncode == 0
    repo.write("app/gadget.yaml", GADGET)
    repo.commit("a kind the cluster does not serve")
    args = ("--repo", repo.url, "--revision", "main")

    table = gitward("status", app_name, *args)
    view = json.loads(gitward("status", app_name, *args, "-o", "json").stdout)

    assert table.returncode == 1
    header, row = table.stdout.splitlines()[:2]
    assert header.split() == ["APP", "SYNC", "HEALTH", "REVISION", "OBJECTS", "REASON"]
    assert "Gadget" in row
    assert "Gadget/g " in table.stdout
    objects = {o["object"]: o for o in view["objects"]}
    assert set(objects) == {f"ConfigMap/{namespace}/a", "Gadget/g"}
    assert "Gadget" in objects["Gadget/g"]["reason"]
    assert objects["Gadget/g"]["health"] == "Missing"
    assert view["health"] == "Missing" and "Gadget" in view["message"]


def test_a_broken_app_that_never_synced_shows_its_error_and_no_health(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_with(tmp_path, app_name, namespace, {"gadget.yaml": GADGET})
    args = ("--repo", repo.url, "--revision", "main")

    view = json.loads(gitward("status", app_name, *args, "-o", "json").stdout)
    table = gitward("status", app_name, *args)

    assert view["health"] is None and "Gadget" in view["message"]
    assert table.returncode == 1
    row = table.stdout.splitlines()[1].split()
    assert row[:3] == [app_name, "Unknown", "-"], row
    assert "Healthy" not in table.stdout


def test_history_shows_chart_versions(
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    app_name: str,
    oci_charts: str,
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml", {"apps": [{"name": app_name, "path": "app", "namespace": namespace}]}
    )
    repo.write(
        "app/Chart.yaml",
        {
            "apiVersion": "v2",
            "name": "umbrella",
            "version": "1.0.0",
            "dependencies": [{"name": "web", "version": "0.1.0", "repository": oci_charts}],
        },
    )
    repo.lock("app")
    repo.commit("web 0.1.0")
    assert sync(repo, app_name).returncode == 0

    table = gitward("history", app_name)

    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()[:2]
    assert "CHARTS" in header.split()
    assert "web@0.1.0" in row


def test_sync_of_all_apps_continues_past_a_failure_and_skips_its_dependents(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    base, mid, top, other = (f"{app_name}-{x}" for x in ("base", "mid", "top", "other"))
    repo = ConfigRepo(tmp_path / "config")

    def app(name: str, *deps: str) -> dict[str, object]:
        spec: dict[str, object] = {"name": name, "path": name, "namespace": namespace}
        return {**spec, "dependsOn": list(deps)} if deps else spec

    repo.write("gitward.yaml", {"apps": [app(base), app(mid, base), app(top, mid), app(other)]})
    repo.write(f"{base}/gadget.yaml", GADGET)
    for name in (mid, top, other):
        repo.write(f"{name}/cm.yaml", configmap(name))
    repo.commit("one broken app")
    try:
        result = sync(repo)

        assert result.returncode == 2, result.stderr
        lines = result.stdout.splitlines()
        summary = lines[lines.index(next(x for x in lines if x.startswith("APP"))) :]
        assert summary[0].split() == ["APP", "RESULT", "REASON"]
        rows = {r.split()[0]: r.split()[1] for r in summary[1:]}
        assert rows == {base: "failed", mid: "skipped", top: "skipped", other: "succeeded"}
        assert f"depends on {base}" in next(r for r in summary if r.startswith(mid))
        assert f"depends on {mid}" in next(r for r in summary if r.startswith(top))
        assert cluster.get("v1", "ConfigMap", other, namespace) is not None
        assert cluster.get("v1", "ConfigMap", mid, namespace) is None
        assert cluster.get("v1", "ConfigMap", top, namespace) is None

        as_json = json.loads(sync(repo, "-o", "json").stdout)
        assert [(v["app"], v["result"], v["exitCode"]) for v in as_json] == [
            (base, "failed", 2),
            (mid, "skipped", 0),
            (top, "skipped", 0),
            (other, "succeeded", 0),
        ]
        assert (as_json[0]["dryRun"], as_json[0]["changes"]) == (False, [])
    finally:
        cluster.forget_apps(base, mid, top, other)


def test_pruning_a_crd_is_refused_with_a_count_unless_annotated_or_allowed(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    suffix = namespace.replace("-", "")
    kinds = {k: (f"{k.title()}{suffix}", f"{k}s{suffix}") for k in ("kept", "marked")}
    crds = {k: f"{plural}.e2e.gitward.io" for k, (_, plural) in kinds.items()}
    files = {
        f"{k}.yaml": CRD.format(plural=plural, singular=f"{k}{suffix}", kind=kind)
        for k, (kind, plural) in kinds.items()
    }
    files["cm.yaml"] = configmap("a")  # the app stays, without its CRDs
    files["marked.yaml"] = files["marked.yaml"].replace(
        "  name: ", '  annotations: {gitward.io/prune: "true"}\n  name: ', 1
    )
    repo = repo_with(tmp_path, app_name, namespace, files)
    try:
        assert sync(repo, app_name).returncode == 0
        kind = kinds["kept"][0]
        for name in ("one", "two"):
            body = {
                "apiVersion": "e2e.gitward.io/v1",
                "kind": kind,
                "metadata": {"name": name, "namespace": namespace},
            }
            cluster.wait_for(partial(_applied, cluster, body), what="a custom resource")

        repo.remove("app/marked.yaml")
        repo.commit("drop the CRD marked for prune")
        assert sync(repo, app_name).returncode == 0
        crd_api = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        gone = cluster.get(*crd_api, crds["marked"])
        assert gone is None or gone["metadata"].get("deletionTimestamp")

        repo.remove("app/kept.yaml")
        repo.commit("drop the other CRD")
        refused = sync(repo, app_name)
        assert refused.returncode == 2, refused.stderr
        line = one_error_line(refused)
        assert f"CustomResourceDefinition/{crds['kept']}" in line
        assert f"2 {kind} resource(s)" in line and "--allow-crd-prune" in line
        assert cluster.get(*crd_api, crds["kept"]) is not None

        assert sync(repo, app_name, "--allow-crd-prune").returncode == 0
        gone = cluster.get(*crd_api, crds["kept"])
        assert gone is None or gone["metadata"].get("deletionTimestamp")
    finally:
        for name in crds.values():
            cluster.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)


def _applied(cluster: Cluster, body: dict[str, Any]) -> bool:
    try:
        cluster.apply(body)
    except Exception:
        return False  # the CRD is not served yet
    return True


def test_an_app_that_renders_nothing_fails_unless_it_allows_empty(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_with(tmp_path, app_name, namespace, {"cm.yaml": configmap("a")})
    assert sync(repo, app_name).returncode == 0
    repo.remove("app/cm.yaml")
    repo.write("app/README.md", "nothing to deploy here\n")
    repo.commit("empty the app")

    refused = sync(repo, app_name)

    assert refused.returncode == 2
    assert "renders no objects" in one_error_line(refused)
    assert cluster.get("v1", "ConfigMap", "a", namespace) is not None

    repo.write(
        "gitward.yaml",
        {"apps": [{"name": app_name, "path": "app", "namespace": namespace, "allowEmpty": True}]},
    )
    repo.commit("allow it")
    allowed = sync(repo, app_name)
    assert allowed.returncode == 0, allowed.stderr
    assert cluster.get("v1", "ConfigMap", "a", namespace) is None
