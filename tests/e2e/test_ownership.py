"""Ownership on the real control plane: every object has one owner app, records are out
of every app's reach, and a lost inventory is rebuilt from the tracking annotations."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gitward.config.identity import TRACKING_ANNOTATION
from gitward.record import apprecords, store
from tests.e2e import helpers
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import ConfigRepo, gitward, one_app


def cm(name: str, value: str = "v") -> str:
    return (
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: '{value}'\n"
    )


def identity(cluster: Cluster, kind: str, name: str, namespace: str) -> tuple[str, str] | None:
    api = "apps/v1" if kind == "Deployment" else "v1"
    body = cluster.get(api, kind, name, namespace)
    if body is None:
        return None
    return body["metadata"]["uid"], body["metadata"]["resourceVersion"]


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def second_namespace(cluster: Cluster, namespace: str) -> Iterator[str]:
    name = f"{namespace}-b"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    cluster.delete("v1", "Namespace", name)


def test_same_app_name_from_a_second_repo_is_refused_and_touches_nothing(
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    second_namespace: str,
    app_name: str,
) -> None:
    a, b = ConfigRepo(tmp_path / "a"), ConfigRepo(tmp_path / "b")
    one_app(a, app_name, namespace)
    a.write("app/cm.yaml", cm("cm-a"))
    a.commit("a")
    one_app(b, app_name, second_namespace)
    b.write("app/cm.yaml", cm("cm-b"))
    b.commit("b")

    assert gitward("sync", app_name, "--repo", a.url, "--revision", "main").returncode == 0
    before = identity(cluster, "ConfigMap", "cm-a", namespace)
    records_before = identity(cluster, "ConfigMap", f"gitward-app-{app_name}", "gitward-system")

    refused = gitward("sync", app_name, "--repo", b.url, "--revision", "main")

    assert refused.returncode == 2
    line = one_line(refused)
    assert f"file://{a.path}" in line and f"file://{b.path}" in line
    assert "--adopt" in line and "Nothing was applied" in line
    assert identity(cluster, "ConfigMap", "cm-a", namespace) == before
    assert cluster.get("v1", "ConfigMap", "cm-b", second_namespace) is None
    assert (
        identity(cluster, "ConfigMap", f"gitward-app-{app_name}", "gitward-system")
        == records_before
    )

    # A deliberate handover: repo B now defines the app, so what only A had goes.
    adopted = gitward("sync", app_name, "--repo", b.url, "--revision", "main", "--adopt")
    assert adopted.returncode == 0, adopted.stderr
    assert cluster.get("v1", "ConfigMap", "cm-b", second_namespace) is not None
    assert cluster.get("v1", "ConfigMap", "cm-a", namespace) is None
    again = gitward("sync", app_name, "--repo", a.url, "--revision", "main")
    assert again.returncode == 2 and f"file://{b.path}" in again.stderr


def test_two_apps_rendering_one_object_are_refused_naming_both(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    first, second = f"{app_name}-sha", f"{app_name}-shb"
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {"name": first, "path": "a", "namespace": namespace},
                {"name": second, "path": "b", "namespace": namespace},
            ]
        },
    )
    repo.write("a/cm.yaml", cm("same", "from-a"))
    repo.write("b/cm.yaml", cm("same", "from-b"))
    repo.commit("two owners")
    try:
        result = gitward("sync", "--repo", repo.url, "--revision", "main")
        assert result.returncode == 2
        line = one_line(result)
        assert f"ConfigMap/{namespace}/same" in line
        assert f"app {first}" in line and f"app {second}" in line
        live = cluster.get("v1", "ConfigMap", "same", namespace)
        assert live is not None and live["data"] == {"k": "from-a"}

        status = gitward("status", second, "--repo", repo.url, "--revision", "main", "-o", "json")
        assert status.returncode == 1
        view = json.loads(status.stdout)
        assert view["sync"] != "Synced"
        assert any(f"app {first}" in e for e in view["errors"])
        # Within one app, the object stays its own.
        assert gitward("diff", first, "--repo", repo.url, "--revision", "main").returncode == 0
    finally:
        cluster.forget_apps(first, second)


def test_an_app_cannot_render_gitwards_own_records(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    victim = ConfigRepo(tmp_path / "victim")
    one_app(victim, f"{app_name}-v", namespace)
    victim.write("app/cm.yaml", cm("kept"))
    victim.commit("victim")
    assert gitward("sync", "--repo", victim.url, "--revision", "main").returncode == 0
    record = f"gitward-app-{app_name}-v"
    before = identity(cluster, "ConfigMap", record, "gitward-system")

    attacker = ConfigRepo(tmp_path / "attacker")
    one_app(attacker, app_name, namespace)
    attacker.write(
        "app/evil.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        f"  name: {record}\n  namespace: gitward-system\ndata:\n  x: y\n",
    )
    attacker.commit("overwrite a record")
    try:
        result = gitward("sync", "--repo", attacker.url, "--revision", "main")
        assert result.returncode == 2
        line = one_line(result)
        assert f"ConfigMap/gitward-system/{record}" in line and "records" in line
        assert identity(cluster, "ConfigMap", record, "gitward-system") == before

        # An app whose own namespace is the records namespace is refused as well.
        one_app(attacker, app_name, "gitward-system")
        attacker.write("app/evil.yaml", cm("innocent"))
        attacker.commit("deploy into the records namespace")
        result = gitward("sync", "--repo", attacker.url, "--revision", "main")
        assert result.returncode == 2 and "gitward-system" in one_line(result)
        assert cluster.get("v1", "ConfigMap", "innocent", "gitward-system") is None
    finally:
        cluster.forget_apps(f"{app_name}-v")


def test_a_deleted_inventory_is_rebuilt_from_tracking_annotations(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/keep.yaml", cm("keep-0") + cm("keep-1"))
    repo.write("app/gone.yaml", "".join(cm(f"gone-{i}") for i in range(10)))
    repo.commit("twelve")
    assert gitward("sync", "--repo", repo.url, "--revision", "main").returncode == 0
    by_hand = cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "by-hand", "namespace": namespace},
            "data": {"k": "v"},
        },
        field_manager="kubectl",
    )
    keep = identity(cluster, "ConfigMap", "keep-0", namespace)

    cluster.delete("v1", "ConfigMap", f"gitward-app-{app_name}", "gitward-system")
    repo.remove("app/gone.yaml")
    repo.commit("ten fewer")

    status = gitward("status", app_name, "--repo", repo.url, "--revision", "main", "-o", "json")
    assert json.loads(status.stdout)["inventoryRebuilt"] == 12
    result = gitward("sync", "--repo", repo.url, "--revision", "main")
    assert result.returncode == 0, result.stderr
    assert "inventory rebuilt from tracking annotations: 12 object(s)" in result.stdout
    left = {c["metadata"]["name"] for c in cluster.list("v1", "ConfigMap", namespace)}
    assert not any(name.startswith("gone-") for name in left), left
    assert {"keep-0", "keep-1", "by-hand"} <= left
    assert identity(cluster, "ConfigMap", "keep-0", namespace) == keep
    assert identity(cluster, "ConfigMap", "by-hand", namespace) == (
        by_hand["metadata"]["uid"],
        by_hand["metadata"]["resourceVersion"],
    )
    diff = gitward("diff", app_name, "--repo", repo.url, "--revision", "main")
    assert diff.returncode == 0, diff.stdout


def test_the_tracking_annotation_names_app_and_source_and_removing_it_is_drift(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/cm.yaml", cm("tracked"))
    repo.commit("one")
    assert gitward("sync", "--repo", repo.url, "--revision", "main").returncode == 0
    live = cluster.get("v1", "ConfigMap", "tracked", namespace)
    assert live is not None
    assert live["metadata"]["annotations"][TRACKING_ANNOTATION] == f"{app_name}@file://{repo.path}"
    managers = {e["manager"] for e in live["metadata"]["managedFields"]}
    assert f"gitward/{app_name}" in managers and "gitward" not in managers

    helpers.kubectl(
        cluster.dev.kubeconfig,
        "annotate",
        "-n",
        namespace,
        "configmap/tracked",
        f"{TRACKING_ANNOTATION}-",
    )
    diff = gitward("diff", app_name, "--repo", repo.url, "--revision", "main")
    assert diff.returncode == 1 and TRACKING_ANNOTATION in diff.stdout
    assert gitward("sync", "--repo", repo.url, "--revision", "main").returncode == 0
    live = cluster.get("v1", "ConfigMap", "tracked", namespace)
    assert live is not None and TRACKING_ANNOTATION in live["metadata"]["annotations"]


def test_prune_leaves_an_object_whose_annotation_names_another_app(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/cm.yaml", cm("mine") + cm("taken"))
    repo.commit("two")
    assert gitward("sync", "--repo", repo.url, "--revision", "main").returncode == 0
    helpers.kubectl(
        cluster.dev.kubeconfig,
        "annotate",
        "--overwrite",
        "-n",
        namespace,
        "configmap/taken",
        f"{TRACKING_ANNOTATION}=someone-else@https://example.com/other",
    )
    taken = identity(cluster, "ConfigMap", "taken", namespace)
    repo.write("app/cm.yaml", cm("mine"))
    repo.commit("drop taken")

    result = gitward("sync", "--repo", repo.url, "--revision", "main")

    assert result.returncode == 0, result.stderr
    assert "not pruned: owned by app someone-else" in result.stdout
    assert identity(cluster, "ConfigMap", "taken", namespace) == taken


def test_records_of_the_previous_format_are_picked_up_with_no_orphan_and_no_duplicate(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    # What the previous gitward left: objects applied by the shared field manager
    # "gitward" with no tracking annotation, and an inventory without a source.
    entries = []
    for name in ("old-0", "old-1", "old-2"):
        body = cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace},
                "data": {"k": "v"},
            },
            field_manager="gitward",
        )
        entries.append(
            {
                "group": "",
                "kind": "ConfigMap",
                "namespace": namespace,
                "name": name,
                "version": "v1",
                "uid": body["metadata"]["uid"],
                "desired": "x",
                "fields": "y",
            }
        )
    cluster.call(
        lambda kube: store.write(
            kube,
            f"gitward-inventory-{app_name}",
            {"app": app_name, "revision": "old", "entries": entries},
            labels={"gitward.io/app": app_name, "gitward.io/record": "inventory"},
        )
    )
    uids = {e["name"]: e["uid"] for e in entries}

    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/cm.yaml", cm("old-0") + cm("old-1"))  # old-2 left git
    repo.commit("upgrade")
    result = gitward("sync", "--repo", repo.url, "--revision", "main")

    assert result.returncode == 0, result.stderr
    names = sorted(c["metadata"]["name"] for c in cluster.list("v1", "ConfigMap", namespace))
    assert names == ["kube-root-ca.crt", "old-0", "old-1"]
    for name in ("old-0", "old-1"):
        live = cluster.get("v1", "ConfigMap", name, namespace)
        assert live is not None and live["metadata"]["uid"] == uids[name]
        managers = {e["manager"] for e in live["metadata"]["managedFields"]}
        assert managers == {f"gitward/{app_name}"}, managers
        assert TRACKING_ANNOTATION in live["metadata"]["annotations"]
    inventory = cluster.call(lambda kube: apprecords.load(kube, app_name)).inventory
    assert inventory is not None and inventory.source == f"file://{repo.path}"
    assert sorted(e.name for e in inventory.entries) == ["old-0", "old-1"]
    # It moved into the app's one record, and the earlier kind is gone.
    assert cluster.get("v1", "ConfigMap", f"gitward-inventory-{app_name}", "gitward-system") is None
    assert gitward("diff", app_name, "--repo", repo.url, "--revision", "main").returncode == 0


def test_secret_string_data_edited_by_hand_is_drift_and_sync_puts_it_back(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write(
        "app/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: from-git}\n",
    )
    repo.commit("secret")
    assert gitward("sync", "--repo", repo.url, "--revision", "main").returncode == 0
    hand = base64.b64encode(b"by-hand").decode()
    helpers.kubectl(
        cluster.dev.kubeconfig,
        "patch",
        "-n",
        namespace,
        "secret/creds",
        "--type=merge",
        "-p",
        json.dumps({"data": {"password": hand}}),
    )

    diff = gitward("diff", app_name, "--repo", repo.url, "--revision", "main")
    assert diff.returncode == 1, diff.stdout + diff.stderr
    assert "back from kubectl-patch" in diff.stdout
    assert "by-hand" not in diff.stdout and hand not in diff.stdout  # values stay masked
    synced = gitward("sync", "--repo", repo.url, "--revision", "main")
    assert synced.returncode == 0
    assert "takes data.password back from kubectl-patch" in synced.stdout
    live = cluster.get("v1", "Secret", "creds", namespace)
    assert live is not None
    assert base64.b64decode(live["data"]["password"]) == b"from-git"


def test_a_writer_under_the_shared_field_manager_name_is_seen_and_reverted(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/cm.yaml", "".join(cm(f"c-{i}", "git") for i in range(10)))
    repo.commit("ten")
    assert gitward("sync", "--repo", repo.url, "--revision", "main").returncode == 0
    for i in range(10):  # an older gitward, pinned to an older commit
        cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"c-{i}", "namespace": namespace},
                "data": {"k": "old"},
            },
            field_manager="gitward",
            force=True,
        )

    diff = gitward("diff", app_name, "--repo", repo.url, "--revision", "main", "-o", "json")
    assert diff.returncode == 1
    changed = [o for o in json.loads(diff.stdout)["objects"] if o["action"] == "update"]
    assert len(changed) == 10
    assert gitward("sync", "--repo", repo.url, "--revision", "main").returncode == 0
    assert {
        c["data"]["k"]
        for c in cluster.list("v1", "ConfigMap", namespace)
        if "k" in c.get("data", {})
    } == {"git"}


def test_a_sync_into_a_terminating_namespace_fails_at_once_naming_it(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], app_name: str
) -> None:
    ns = f"{app_name}-term"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "blocker", "namespace": ns, "finalizers": ["example.com/hold"]},
        }
    )
    cluster.delete("v1", "Namespace", ns)
    try:
        cluster.wait_for(
            lambda: (
                (cluster.get("v1", "Namespace", ns) or {}).get("status", {}).get("phase")
                == "Terminating"
            ),
            what="namespace terminating",
        )
        repo = ConfigRepo(tmp_path / "config")
        one_app(repo, app_name, ns)
        repo.write("app/cm.yaml", cm("late"))
        repo.commit("into a terminating namespace")
        result = gitward(
            "sync", "--repo", repo.url, "--revision", "main", "--wait", "--timeout", "120"
        )
        assert result.returncode == 2
        assert f"namespace {ns} is Terminating" in one_line(result)
    finally:
        helpers.kubectl(
            cluster.dev.kubeconfig,
            "patch",
            "-n",
            ns,
            "configmap/blocker",
            "--type=merge",
            "-p",
            '{"metadata":{"finalizers":null}}',
        )


def test_the_controller_names_ownership_conflicts_and_never_fights(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    from tests.e2e.test_controller import eventually, start_controller

    first, second, taken = f"{app_name}-a", f"{app_name}-b", f"{app_name}-c"
    elsewhere = ConfigRepo(tmp_path / "elsewhere")
    one_app(elsewhere, taken, namespace)
    elsewhere.write("app/cm.yaml", cm("from-elsewhere"))
    elsewhere.commit("the same app name in another repository")
    assert gitward("sync", "--repo", elsewhere.url, "--revision", "main").returncode == 0

    repo = ConfigRepo(tmp_path / "config")
    policy = {"namespace": namespace, "autoSync": True, "selfHeal": True}
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {"name": first, "path": "a", **policy},
                {"name": second, "path": "b", **policy},
                {"name": taken, "path": "c", **policy},
            ]
        },
    )
    repo.write("a/cm.yaml", cm("same", "from-a"))
    repo.write("b/cm.yaml", cm("same", "from-b"))
    repo.write("c/cm.yaml", cm("from-here"))
    repo.commit("conflicts")
    running = start_controller(repo, tmp_path, poll=1.0)
    try:
        eventually(lambda: running.app(first)["sync"] == "Synced", what="first app synced")
        message = eventually(lambda: running.app(second)["message"], what="second app's error")
        assert f"ConfigMap/{namespace}/same" in message and f"app {first}" in message
        message = eventually(lambda: running.app(taken)["message"], what="taken app's error")
        assert f"file://{elsewhere.path}" in message and "--adopt" in message

        def conflicts() -> float:
            text = httpx.get(running.url + "/metrics", timeout=5).text
            return sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("gitward_ownership_conflicts_total{")
            )

        assert eventually(lambda: conflicts() >= 2, what="conflict counter")
        before = identity(cluster, "ConfigMap", "same", namespace)
        time.sleep(3)  # several polls and retries of the refused apps
        assert identity(cluster, "ConfigMap", "same", namespace) == before, "the apps fought"
        live = cluster.get("v1", "ConfigMap", "same", namespace)
        assert live is not None and live["data"] == {"k": "from-a"}
        assert running.drifts(first) == []
        assert cluster.get("v1", "ConfigMap", "from-here", namespace) is None
    finally:
        running.stop()
        cluster.forget_apps(first, second, taken)


def test_the_controller_sees_value_drift_a_string_data_edit_and_the_shared_manager(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    from tests.e2e.test_controller import eventually, start_controller

    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace, autoSync=True, selfHeal=True)
    repo.write(
        "app/objects.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: git}\n"
        + cm("plain", "git"),
    )
    repo.commit("secret and configmap")
    running = start_controller(repo, tmp_path, poll=1.0)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
        helpers.kubectl(
            cluster.dev.kubeconfig,
            "patch",
            "-n",
            namespace,
            "secret/creds",
            "--type=merge",
            "-p",
            json.dumps({"data": {"password": base64.b64encode(b"hand").decode()}}),
        )

        def password() -> bytes:
            live = cluster.get("v1", "Secret", "creds", namespace)
            return base64.b64decode((live or {}).get("data", {}).get("password", ""))

        eventually(lambda: password() == b"git", what="secret put back")
        drift = eventually(
            lambda: next((d for d in running.drifts(app_name) if "Secret" in d["object"]), None),
            what="secret drift",
        )
        assert drift["actor"] == "kubectl-patch" and "data.password" in drift["fields"]

        cluster.apply(  # an older gitward writing as the manager all apps once shared
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "plain", "namespace": namespace},
                "data": {"k": "old"},
            },
            field_manager="gitward",
            force=True,
        )

        def value() -> str:
            return str(
                ((cluster.get("v1", "ConfigMap", "plain", namespace) or {}).get("data") or {}).get(
                    "k"
                )
            )

        eventually(lambda: value() == "git", what="configmap put back")
        drift = eventually(
            lambda: next((d for d in running.drifts(app_name) if "ConfigMap" in d["object"]), None),
            what="configmap drift",
        )
        assert drift["actor"] == "gitward"
    finally:
        running.stop()


def test_two_environments_of_one_app_name_keep_records_and_managers_apart(
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    second_namespace: str,
    app_name: str,
) -> None:
    staging, prod = ConfigRepo(tmp_path / "staging"), ConfigRepo(tmp_path / "prod")
    for repo, env, ns in ((staging, "staging", namespace), (prod, "prod", second_namespace)):
        repo.write(
            "gitward.yaml",
            {"environment": env, "apps": [{"name": app_name, "path": "app", "namespace": ns}]},
        )
        repo.write("app/cm.yaml", cm("settings", env))
        repo.commit(env)
    try:
        for repo in (staging, prod):
            result = gitward("sync", "--repo", repo.url, "--revision", "main")
            assert result.returncode == 0, result.stderr
        for env, ns in (("staging", namespace), ("prod", second_namespace)):
            live = cluster.get("v1", "ConfigMap", "settings", ns)
            assert live is not None and live["data"] == {"k": env}
            key = f"{env}.{app_name}"
            assert live["metadata"]["annotations"][TRACKING_ANNOTATION].startswith(f"{key}@")
            assert {e["manager"] for e in live["metadata"]["managedFields"]} == {f"gitward/{key}"}
            assert cluster.records(key) == ["inventory", "history"]
        assert cluster.records(app_name) == []
    finally:
        cluster.forget_apps(f"staging.{app_name}", f"prod.{app_name}")
