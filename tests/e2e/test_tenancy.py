"""Each app deploys with only the rights it is given, on the real control plane.

The e2e cluster's own identity is ``system:masters``: whatever an app is
refused below, gitward itself could have done, so every refusal shows that
the request really ran as the app's ServiceAccount (or that the policy
stopped it before any request).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import helpers
from tests.e2e.conftest import Cluster, run
from tests.e2e.helpers import ConfigRepo, gitward, repo_with, web_deployment
from tests.e2e.test_controller import eventually, start_controller

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC = f"{RBAC_GROUP}/v1"


def configmap(name: str, namespace: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\ndata:\n  a: '1'\n"


def cluster_role(name: str) -> str:
    # No rules: creating it needs no rights beyond `create clusterroles` (no escalation).
    return f"apiVersion: {RBAC}\nkind: ClusterRole\nmetadata:\n  name: {name}\nrules: []\n"


def service_account(cluster: Cluster, namespace: str, name: str) -> str:
    """Create ServiceAccount ``name`` in ``namespace``; returns the user it authenticates as."""
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        }
    )
    return f"system:serviceaccount:{namespace}:{name}"


def grant(
    cluster: Cluster,
    namespace: str,
    account: str,
    rules: list[dict[str, Any]],
    name: str = "app",
    account_namespace: str = "",
) -> None:
    """A Role ``name`` with ``rules`` in ``namespace``, bound to ServiceAccount ``account``
    (of ``account_namespace``, default the same namespace)."""
    meta = {"name": name, "namespace": namespace}
    cluster.apply({"apiVersion": RBAC, "kind": "Role", "metadata": meta, "rules": rules})
    cluster.apply(
        {
            "apiVersion": RBAC,
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": name},
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": account,
                    "namespace": account_namespace or namespace,
                }
            ],
        }
    )


def rule(verbs: str, resources: str, group: str = "") -> dict[str, Any]:
    return {"apiGroups": [group], "resources": resources.split(","), "verbs": verbs.split(",")}


def grant_cluster_wide(
    cluster: Cluster, namespace: str, account: str, name: str, rules: list[dict[str, Any]]
) -> None:
    """A ClusterRole ``name`` with ``rules``, bound everywhere to ``account`` of ``namespace``."""
    cluster.apply(
        {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}
    )
    cluster.apply(
        {
            "apiVersion": RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        }
    )


ALL = "get,list,watch,create,update,patch,delete"


@pytest.fixture
def foreign(cluster: Cluster) -> Iterator[str]:
    """A second namespace, not the app's."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    cluster.delete("v1", "Namespace", name)


@pytest.fixture
def cluster_scoped(cluster: Cluster, namespace: str) -> Iterator[list[tuple[str, str]]]:
    """Cluster-scoped objects a test creates, as (kind, name); deleted afterwards."""
    made: list[tuple[str, str]] = []
    yield made
    for kind, name in made:
        api = "v1" if kind == "Namespace" else RBAC
        cluster.delete(api, kind, name)


def snapshot(
    cluster: Cluster, app: str, namespaces: list[str], role: str | None = None
) -> dict[str, str]:
    """Every ConfigMap in ``namespaces``, ClusterRole ``role`` and the app's inventory, by
    version. The history is left out: a refused plan is a sync attempt, recorded there
    (see :func:`recorded_failure`)."""
    out = {}
    for ns in namespaces:
        for o in cluster.list("v1", "ConfigMap", ns):
            out[f"ConfigMap/{ns}/{o['metadata']['name']}"] = o["metadata"]["resourceVersion"]
    if role is not None:
        live = cluster.get(RBAC, "ClusterRole", role)
        out[f"ClusterRole/{role}"] = live["metadata"]["resourceVersion"] if live else "absent"
    out["inventory"] = cluster.inventory(app)
    return out


def recorded_failure(app: str) -> dict[str, Any]:
    """The newest history record of ``app``, which must be a failed sync with exit code 2."""
    result = gitward("history", app, "-o", "json")
    assert result.returncode == 0, result.stderr
    newest: dict[str, Any] = json.loads(result.stdout)[0]
    assert (newest["result"], newest["exitCode"], newest["actions"]) == ("failed", 2, [])
    return newest


def one_error_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return str(lines[0])


@pytest.mark.parametrize("target", ["cluster-role", "other-namespace"])
def test_an_account_confined_to_its_namespace_is_refused_at_dry_run_and_nothing_is_applied(
    target: str,
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    foreign: str,
    app_name: str,
    cluster_scoped: list[tuple[str, str]],
) -> None:
    user = service_account(cluster, namespace, "deployer")
    grant(cluster, namespace, "deployer", [rule(ALL, "configmaps")])
    # It may read everywhere, so the refusal comes from the dry-run of the write.
    reader = f"{namespace}-read"
    cluster_scoped += [("ClusterRole", reader), ("ClusterRoleBinding", reader)]
    grant_cluster_wide(
        cluster,
        namespace,
        "deployer",
        reader,
        [rule("get,list", "configmaps"), rule("get,list", "clusterroles", RBAC_GROUP)],
    )
    role = f"{namespace}-reader"
    extra, expected = {
        "cluster-role": (
            cluster_role(role),
            f"ClusterRole/{role} (cr.yaml): forbidden: {user} cannot patch clusterroles "
            "at the cluster scope",
        ),
        "other-namespace": (
            configmap("intruder", foreign),
            f"ConfigMap/{foreign}/intruder (cr.yaml): forbidden: {user} cannot patch configmaps "
            f"in namespace {foreign}",
        ),
    }[target]
    repo = repo_with(
        tmp_path,
        app_name,
        namespace,
        {"own.yaml": configmap("own"), "cr.yaml": extra},
        serviceAccountName="deployer",
    )
    before = snapshot(cluster, app_name, [namespace, foreign], role)

    result = gitward("sync", app_name, "--repo", repo.url, "--revision", "main")

    assert result.returncode == 2, (result.returncode, result.stderr)
    line = one_error_line(result)
    assert expected in line and line.endswith("nothing was applied"), line
    assert snapshot(cluster, app_name, [namespace, foreign], role) == before
    assert expected in recorded_failure(app_name)["message"]
    assert cluster.get("v1", "ConfigMap", "own", namespace) is None


def test_the_same_app_syncs_once_its_account_is_bound_to_a_broader_cluster_role(
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    foreign: str,
    app_name: str,
    cluster_scoped: list[tuple[str, str]],
) -> None:
    service_account(cluster, namespace, "deployer")
    role = f"{namespace}-reader"
    broad = f"{namespace}-broad"
    cluster_scoped += [("ClusterRole", role), ("ClusterRole", broad), ("ClusterRoleBinding", broad)]
    repo = repo_with(
        tmp_path,
        app_name,
        namespace,
        {
            "own.yaml": configmap("own"),
            "cr.yaml": cluster_role(role),
            "foreign.yaml": configmap("visitor", foreign),
        },
        serviceAccountName="deployer",
    )
    args = ("--repo", repo.url, "--revision", "main")
    assert gitward("sync", app_name, *args).returncode == 2, "no rights yet"

    grant_cluster_wide(
        cluster,
        namespace,
        "deployer",
        broad,
        [rule(ALL, "configmaps"), rule(ALL, "clusterroles", RBAC_GROUP)],
    )
    # RBAC changes reach the authorizer through an informer: give it a moment.
    result = eventually(lambda: (r := gitward("sync", app_name, *args)).returncode == 0 and r)
    assert "3 created" in result.stdout, result.stdout
    assert cluster.get("v1", "ConfigMap", "visitor", foreign) is not None
    assert cluster.get(RBAC, "ClusterRole", role) is not None
    assert gitward("diff", app_name, *args).returncode == 0


def test_prune_runs_as_the_account_and_a_refused_delete_fails_and_keeps_the_object(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    user = service_account(cluster, namespace, "deployer")
    grant(cluster, namespace, "deployer", [rule("get,list,create,update,patch", "configmaps")])
    repo = repo_with(
        tmp_path,
        app_name,
        namespace,
        {"a.yaml": configmap("a"), "b.yaml": configmap("b")},
        serviceAccountName="deployer",
    )
    args = ("--repo", repo.url, "--revision", "main")
    first = gitward("sync", app_name, *args)
    assert first.returncode == 0, first.stderr

    repo.remove("app/b.yaml")
    repo.commit("drop b")
    result = gitward("sync", app_name, *args)

    assert result.returncode == 3, (result.returncode, result.stderr)
    line = one_error_line(result)
    expected = f"ConfigMap/{namespace}/b: forbidden: {user} cannot delete configmaps"
    assert expected in line, line
    assert cluster.get("v1", "ConfigMap", "b", namespace) is not None

    # The inventory still holds it: once the account may delete, the next sync prunes it.
    grant(cluster, namespace, "deployer", [rule(ALL, "configmaps")])
    eventually(lambda: gitward("sync", app_name, *args).returncode == 0, what="prune allowed")
    assert cluster.get("v1", "ConfigMap", "b", namespace) is None


def test_status_and_diff_read_as_the_account(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    user = service_account(cluster, namespace, "deployer")
    repo = repo_with(
        tmp_path, app_name, namespace, {"a.yaml": configmap("a")}, serviceAccountName="deployer"
    )
    args = ("--repo", repo.url, "--revision", "main")
    expected = f"ConfigMap/{namespace}/a (a.yaml): forbidden: {user} cannot get configmaps"

    diff = gitward("diff", app_name, *args)
    assert diff.returncode == 2, diff.stderr
    assert expected in one_error_line(diff)

    status = gitward("status", app_name, *args, "-o", "json")
    assert status.returncode == 1, status.stderr
    view = json.loads(status.stdout)
    assert view["sync"] == "Unknown"
    assert any(expected in e for e in view["errors"]), view


def test_self_heal_runs_as_the_account_and_reports_a_refused_correction(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    user = service_account(cluster, namespace, "deployer")
    grant(
        cluster,
        namespace,
        "deployer",
        [rule("get,list,watch,create,patch,update", "deployments", "apps")],
    )
    repo = repo_with(
        tmp_path,
        app_name,
        namespace,
        {"web.yaml": web_deployment()},
        serviceAccountName="deployer",
        autoSync=True,
        selfHeal=True,
    )
    running = start_controller(repo, tmp_path)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
        grant(
            cluster, namespace, "deployer", [rule("get,list,watch,create", "deployments", "apps")]
        )
        time.sleep(1)  # let the authorizer see the narrower Role
        kubectl = helpers.kubectl
        kubectl(cluster.dev.kubeconfig, "scale", "deployment/web", "-n", namespace, "--replicas=5")

        def refused() -> dict[str, Any] | None:
            return next((d for d in running.drifts(app_name) if d["outcome"] == "failed"), None)

        record = eventually(refused, timeout=20, what="a failed correction")
        assert record["object"] == f"Deployment/{namespace}/web"
        assert (
            f"forbidden: {user} cannot patch deployments in namespace {namespace}"
            in record["message"]
        ), record
        time.sleep(2)
        web = cluster.get("apps/v1", "Deployment", "web", namespace)
        assert web is not None and web["spec"]["replicas"] == 5, "the account could not revert it"
        # gitward's own identity could have: the refusal is the account's.
        own = kubectl(
            cluster.dev.kubeconfig, "auth", "can-i", "patch", "deployments.apps", "-n", namespace
        )
        assert own.strip() == "yes"
    finally:
        running.stop()


def test_a_default_service_account_runs_every_app_that_names_none(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    user = service_account(cluster, namespace, "nobody")  # bound to nothing
    repo = repo_with(tmp_path, app_name, namespace, {"a.yaml": configmap("a")})
    args = ("--repo", repo.url, "--revision", "main")
    before = snapshot(cluster, app_name, [namespace])

    by_flag = gitward("sync", app_name, *args, "--default-service-account", "nobody")
    by_env = gitward("sync", app_name, *args, env={"GITWARD_DEFAULT_SERVICE_ACCOUNT": "nobody"})

    for result in (by_flag, by_env):
        assert result.returncode == 2, (result.returncode, result.stderr)
        line = one_error_line(result)
        assert f"ConfigMap/{namespace}/a (a.yaml): forbidden: {user} cannot get" in line, line
    assert snapshot(cluster, app_name, [namespace]) == before
    assert gitward("sync", app_name, *args).returncode == 0, "as gitward itself it syncs"


def test_a_default_service_account_refuses_an_app_without_a_namespace_before_any_sync(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    service_account(cluster, namespace, "deployer")
    grant(cluster, namespace, "deployer", [rule(ALL, "configmaps")])
    repo = ConfigRepo(tmp_path / "config")
    apps = [
        {"name": app_name, "path": "good", "namespace": namespace},  # would sync on its own
        {"name": f"{app_name}-x", "path": "bad"},
    ]
    repo.write("gitward.yaml", {"apps": apps})
    repo.write("good/a.yaml", configmap("a"))
    repo.write("bad/cr.yaml", cluster_role(f"{app_name}-x"))
    repo.commit("initial")
    args = ("--repo", repo.url, "--revision", "main", "--default-service-account", "deployer")

    result = gitward("sync", *args)

    assert result.returncode == 2
    line = one_error_line(result)
    assert (
        f"app {app_name}-x: the default service account deployer needs the app's namespace" in line
    ), line
    assert cluster.get("v1", "ConfigMap", "a", namespace) is None
    assert cluster.get(RBAC, "ClusterRole", f"{app_name}-x") is None
    assert gitward("sync", app_name, *args).returncode == 0, "the good app alone syncs"


LOCKED = """\
# the app's own namespace only, nothing cluster-scoped
default:
  namespaces: ["$app"]
  clusterResources: [{group: rbac.authorization.k8s.io, kind: "*"}]
"""


@pytest.mark.parametrize("case", ["cluster-scoped", "other-namespace", "create-namespace"])
def test_a_policy_refuses_what_it_does_not_allow_and_nothing_is_applied(
    case: str,
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    foreign: str,
    app_name: str,
    cluster_scoped: list[tuple[str, str]],
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(LOCKED)
    app_ns, spec = namespace, {}
    if case == "cluster-scoped":
        extra = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + foreign + "-x\n"
        expected = (
            f"Namespace/{foreign}-x (extra.yaml): cluster-scoped kind Namespace is not allowed "
            f"for app {app_name} by policy {policy}"
        )
        cluster_scoped.append(("Namespace", f"{foreign}-x"))
    elif case == "other-namespace":
        extra = configmap("intruder", foreign)
        expected = (
            f"ConfigMap/{foreign}/intruder (extra.yaml): namespace {foreign} is not allowed "
            f"for app {app_name} by policy {policy}"
        )
    else:
        app_ns, spec = f"{namespace}-new", {"createNamespace": True}
        extra = configmap("more")
        expected = (
            f"Namespace/{app_ns} (createNamespace): cluster-scoped kind Namespace is not allowed "
            f"for app {app_name} by policy {policy}"
        )
        cluster_scoped.append(("Namespace", app_ns))
    repo = repo_with(
        tmp_path, app_name, app_ns, {"own.yaml": configmap("own"), "extra.yaml": extra}, **spec
    )
    before = snapshot(cluster, app_name, [namespace, foreign])

    result = gitward(
        "sync", app_name, "--repo", repo.url, "--revision", "main", "--policy", str(policy)
    )

    assert result.returncode == 2, (result.returncode, result.stderr)
    line = one_error_line(result)
    assert expected in line, line
    assert snapshot(cluster, app_name, [namespace, foreign]) == before
    assert expected in recorded_failure(app_name)["message"]
    for kind, name in cluster_scoped:
        assert cluster.get("v1", kind, name) is None, f"{kind}/{name} was created"


def test_a_policy_entry_for_an_app_lets_it_deploy_where_the_default_does_not(
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    foreign: str,
    app_name: str,
    cluster_scoped: list[tuple[str, str]],
) -> None:
    locked = tmp_path / "locked.yaml"
    locked.write_text(LOCKED)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        LOCKED + f'apps:\n  {app_name}: {{namespaces: ["$app", "{foreign}"], '
        'clusterResources: [{group: "", kind: Namespace}]}\n'
    )
    created = f"{foreign}-x"
    cluster_scoped.append(("Namespace", created))
    repo = repo_with(
        tmp_path,
        app_name,
        namespace,
        {
            "own.yaml": configmap("own"),
            "visitor.yaml": configmap("visitor", foreign),
            "ns.yaml": f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {created}\n",
        },
    )

    args = ("--repo", repo.url, "--revision", "main")
    assert gitward("sync", app_name, *args, "--policy", str(locked)).returncode == 2

    result = gitward("sync", app_name, *args, "--policy", str(policy))

    assert result.returncode == 0, result.stderr
    assert cluster.get("v1", "ConfigMap", "visitor", foreign) is not None
    assert cluster.get("v1", "Namespace", created) is not None


def test_a_malformed_policy_file_fails_in_one_line_naming_file_and_line(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("default:\n  clusterResources: []\n  namespaces: shop\n")
    result = gitward("sync", "x", "--repo", str(tmp_path), "--policy", str(policy))
    assert result.returncode == 2
    line = one_error_line(result)
    assert f"{policy}:3: default.namespaces: 'shop' is not of type 'array'" in line, line


def test_a_no_op_sync_as_the_account_costs_what_it_costs_as_gitward_itself(
    cluster: Cluster, namespace: str, app_name: str
) -> None:
    from gitward.config.apps import AppSpec
    from gitward.config.tenancy import Tenancy
    from gitward.kube import Kube
    from gitward.objects import Manifest
    from gitward.reconcile import sync_app
    from gitward.source.revisions import Revision
    from gitward.tenancy import client_for

    service_account(cluster, namespace, "deployer")
    grant(cluster, namespace, "deployer", [rule(ALL, "configmaps")])
    app = AppSpec(name=app_name, path="app", namespace=namespace)
    manifests = tuple(
        Manifest(body=yaml.safe_load(configmap(n)), source=f"{n}.yaml") for n in "abc"
    )
    revision = Revision(sha="0" * 40)

    async def sync(account: str) -> dict[str, int]:
        async with Kube(cluster.config) as kube:
            as_app = client_for(
                kube=kube, app=app, tenancy=Tenancy(default_service_account=account)
            )
            await sync_app(
                kube=kube, app=app, manifests=manifests, revision=revision, as_app=as_app
            )
            return kube.stats.snapshot()

    first = run(sync("deployer"))
    assert first.get("patch-dry-run") == 3, first
    assert cluster.get("v1", "ConfigMap", "c", namespace) is not None
    as_gitward, as_account = run(sync("")), run(sync("deployer"))
    assert as_account == as_gitward, (as_account, as_gitward)
    assert not {"patch", "create", "update", "delete"} & set(as_account), as_account


def test_gitward_itself_needs_only_impersonate_on_the_account_and_group_bindings_count(
    cluster: Cluster,
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    foreign: str,
    app_name: str,
) -> None:
    from gitward.kube import Forbidden, Kube, load_kubeconfig

    # gitward's own identity: the ServiceAccount gw (of another namespace), allowed to
    # impersonate deployer and to keep its records, and nothing else of the app's.
    gw = service_account(cluster, foreign, "gw")
    service_account(cluster, namespace, "deployer")
    imp = rule("impersonate", "serviceaccounts") | {"resourceNames": ["deployer"]}
    grant(cluster, namespace, "gw", [imp], name="gw", account_namespace=foreign)
    records = f"{namespace}-gw-records"
    grant(
        cluster,
        "gitward-system",
        "gw",
        [rule("get,create,patch", "configmaps")],
        name=records,
        account_namespace=foreign,
    )
    grant_cluster_wide(cluster, foreign, "gw", f"{namespace}-gw", [rule("get,list", "namespaces")])
    # The app's account gets its rights through its namespace's group, not by name.
    cluster.apply(
        {
            "apiVersion": RBAC,
            "kind": "Role",
            "metadata": {"name": "group", "namespace": namespace},
            "rules": [rule(ALL, "configmaps")],
        }
    )
    cluster.apply(
        {
            "apiVersion": RBAC,
            "kind": "RoleBinding",
            "metadata": {"name": "group", "namespace": namespace},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": "group"},
            "subjects": [
                {
                    "kind": "Group",
                    "name": f"system:serviceaccounts:{namespace}",
                    "apiGroup": RBAC_GROUP,
                }
            ],
        }
    )
    token = helpers.kubectl(cluster.dev.kubeconfig, "create", "token", "gw", "-n", foreign).strip()
    dev = yaml.safe_load(Path(cluster.dev.kubeconfig).read_text())
    dev["users"] = [{"name": dev["users"][0]["name"], "user": {"token": token}}]
    kubeconfig = tmp_path / "gw.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(dev))
    repo = repo_with(
        tmp_path, app_name, namespace, {"a.yaml": configmap("a")}, serviceAccountName="deployer"
    )
    args = ("--repo", repo.url, "--revision", "main")
    try:
        env = {"KUBECONFIG": str(kubeconfig)}
        # New bindings reach the authorizer through an informer: allow it a few tries.
        for _ in range(20):
            result = gitward("sync", app_name, *args, env=env)
            if result.returncode == 0:
                break
            time.sleep(0.5)
        assert result.returncode == 0, result.stderr
        assert cluster.get("v1", "ConfigMap", "a", namespace) is not None
        diff = gitward("diff", app_name, *args, env=env)
        assert diff.returncode == 0, diff.stderr

        async def as_gw_alone() -> None:
            async with Kube(load_kubeconfig(kubeconfig)) as kube:
                await kube.apply(yaml.safe_load(configmap("b", namespace)), dry_run=True)

        with pytest.raises(Forbidden, match=f"{gw} cannot patch configmaps"):
            run(as_gw_alone())
    finally:
        cluster.delete(RBAC, "Role", records, "gitward-system")
        cluster.delete(RBAC, "RoleBinding", records, "gitward-system")
        cluster.delete(RBAC, "ClusterRole", f"{namespace}-gw")
        cluster.delete(RBAC, "ClusterRoleBinding", f"{namespace}-gw")
