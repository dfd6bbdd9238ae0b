"""gitward's own Helm chart, installed on the real control plane, with least-privilege RBAC."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gitward.config.notifications import EventKind, ProviderKind, SecretRef
from gitward.dev.ports import free_port
from gitward.kube import Kube
from gitward.notify.checking import load_settings
from gitward.tools import find_tool
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import REPO_ROOT, ConfigRepo, gitward, helm

CHART = REPO_ROOT / "deploy" / "chart" / "gitward"
RELEASE = "gw"
FULLNAME = f"{RELEASE}-gitward"


@dataclass(frozen=True)
class Install:
    namespace: str

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{FULLNAME}"

    @property
    def groups(self) -> list[str]:
        return ["system:serviceaccounts", f"system:serviceaccounts:{self.namespace}"]

    @property
    def cluster_names(self) -> list[str]:
        return [f"{self.namespace}-{FULLNAME}-{suffix}" for suffix in ("read", "manage")]


@contextmanager
def install(cluster: Cluster, namespace: str, *values: str, wait: bool) -> Iterator[Install]:
    sets = [arg for value in values for arg in ("--set", value)]
    args = ["--namespace", namespace, "--kubeconfig", cluster.dev.kubeconfig]
    waiting = ["--wait", "--timeout", "90s"] if wait else []
    helm("install", RELEASE, str(CHART), *args, *sets, *waiting)
    done = Install(namespace)
    try:
        yield done
    finally:
        try:
            helm("uninstall", RELEASE, *args, "--wait", "--timeout", "60s")
        finally:
            # Cluster-scoped objects outlive the test namespace: never leave them behind.
            for name in done.cluster_names:
                cluster.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", name)
                cluster.delete("rbac.authorization.k8s.io/v1", "ClusterRole", name)


@pytest.fixture
def installed(cluster: Cluster, namespace: str) -> Iterator[Install]:
    with install(
        cluster,
        namespace,
        "repo.url=https://git.example.invalid/platform/config.git",
        "repo.revision=v1",
        f"recordsNamespace={namespace}",
        "secret.gitToken=token-123",
        "secret.webhookSecret=hook-456",
        wait=True,
    ) as done:
        yield done


def allowed(
    cluster: Cluster,
    who: Install,
    verb: str,
    resource: str,
    *,
    group: str = "",
    namespace: str = "",
    name: str = "",
    subresource: str = "",
) -> bool:
    """What the API server's authorizer says to the controller's ServiceAccount."""
    attributes = {"verb": verb, "group": group, "resource": resource, "namespace": namespace}
    if name:
        attributes["name"] = name
    if subresource:
        attributes["subresource"] = subresource
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": who.user, "groups": who.groups, "resourceAttributes": attributes},
    }

    async def ask(kube: Kube) -> bool:
        answer = await kube.create(review)
        return bool(answer.get("status", {}).get("allowed"))

    return cluster.call(ask)


def test_chart_passes_helm_lint() -> None:
    out = helm("lint", "--strict", str(CHART))
    assert "0 chart(s) failed" in out


def test_install_runs_two_ready_replicas_with_a_hardened_pod(
    cluster: Cluster, installed: Install
) -> None:
    ns = installed.namespace
    deployment = cluster.get("apps/v1", "Deployment", FULLNAME, ns)
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 2
    conditions = {c["type"]: c["status"] for c in deployment["status"].get("conditions", [])}
    assert conditions.get("Available") == "True"
    assert deployment["status"].get("readyReplicas") == 2

    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == FULLNAME
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/gitward/gitward:0.1.0"
    args = container["args"]
    assert args[0] == "controller"
    assert args[args.index("--repo") + 1] == "https://git.example.invalid/platform/config.git"
    assert args[args.index("--revision") + 1] == "v1"
    assert args[args.index("--listen") + 1] == "0.0.0.0:8080"
    assert args[args.index("--lease-name") + 1] == FULLNAME
    hardening = container["securityContext"]
    assert hardening["readOnlyRootFilesystem"] is True
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"

    env = {e["name"]: e for e in container["env"]}
    assert env["GITWARD_CACHE"]["value"] == "/var/cache/gitward"
    assert env["GITWARD_NAMESPACE"]["value"] == ns
    assert env["GITWARD_GIT_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == FULLNAME
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/var/cache/gitward"]]

    assert cluster.get("v1", "ServiceAccount", FULLNAME, ns) is not None
    service = cluster.get("v1", "Service", FULLNAME, ns)
    assert service is not None
    assert [p["port"] for p in service["spec"]["ports"]] == [8080]
    secret = cluster.get("v1", "Secret", FULLNAME, ns)
    assert secret is not None
    assert base64.b64decode(secret["data"]["gitToken"]) == b"token-123"
    assert base64.b64decode(secret["data"]["webhookSecret"]) == b"hook-456"
    for name in installed.cluster_names:  # named after the namespace: installs never clash
        assert cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", name) is not None
    pods = [
        p
        for p in cluster.list("v1", "Pod", ns)
        if p["metadata"]["labels"].get("app.kubernetes.io/instance") == RELEASE
    ]
    assert len(pods) == 2


def test_service_account_reads_every_kind_but_secrets_and_runs_its_lease(
    cluster: Cluster, installed: Install
) -> None:
    ns = installed.namespace
    for verb in ("get", "list", "watch"):
        assert allowed(cluster, installed, verb, "pods"), f"{verb} pods cluster-wide"
        assert allowed(cluster, installed, verb, "deployments", group="apps", namespace="default")
        assert allowed(cluster, installed, verb, "storageclasses", group="storage.k8s.io")
        # No Secret anywhere unless listed in rbac.secrets.namespaces (empty by default).
        assert not allowed(cluster, installed, verb, "secrets"), f"{verb} secrets cluster-wide"
        assert not allowed(cluster, installed, verb, "secrets", namespace="shop")
        assert not allowed(cluster, installed, verb, "secrets", namespace=ns)
    lease = {"group": "coordination.k8s.io", "namespace": ns}
    assert allowed(cluster, installed, "create", "leases", **lease)
    assert allowed(cluster, installed, "update", "leases", name=FULLNAME, **lease)
    assert allowed(cluster, installed, "get", "leases", name=FULLNAME, **lease)
    assert not allowed(cluster, installed, "update", "leases", name="someone-else", **lease)
    assert not allowed(cluster, installed, "delete", "leases", name=FULLNAME, **lease)
    assert allowed(cluster, installed, "update", "configmaps", namespace=ns)
    assert allowed(cluster, installed, "create", "events", namespace=ns)


def test_service_account_writes_only_the_managed_kinds(
    cluster: Cluster, installed: Install
) -> None:
    for verb in ("create", "update", "patch", "delete"):
        assert allowed(cluster, installed, verb, "deployments", group="apps", namespace="shop")
        assert allowed(cluster, installed, verb, "configmaps", namespace="shop")
    assert allowed(cluster, installed, "create", "namespaces")
    assert allowed(
        cluster, installed, "create", "customresourcedefinitions", group="apiextensions.k8s.io"
    )
    rbac = "rbac.authorization.k8s.io"
    # No way to grant itself more than it holds: no RBAC writes, bind, escalate or impersonate.
    for verb in ("create", "update", "patch", "delete"):
        for kind in ("roles", "rolebindings"):
            assert not allowed(cluster, installed, verb, kind, group=rbac, namespace="shop")
        for kind in ("clusterroles", "clusterrolebindings"):
            assert not allowed(cluster, installed, verb, kind, group=rbac)
        assert not allowed(cluster, installed, verb, "secrets", namespace="shop")
    for verb in ("bind", "escalate"):
        assert not allowed(cluster, installed, verb, "roles", group=rbac, namespace="shop")
        assert not allowed(cluster, installed, verb, "clusterroles", group=rbac)
    assert not allowed(cluster, installed, "impersonate", "users")
    assert not allowed(cluster, installed, "impersonate", "groups")
    assert not allowed(cluster, installed, "impersonate", "serviceaccounts", namespace="shop")
    # Kinds outside rbac.manage: readable, not writable.
    storage = "storage.k8s.io"
    assert allowed(cluster, installed, "list", "storageclasses", group=storage)
    assert not allowed(cluster, installed, "create", "storageclasses", group=storage)
    assert not allowed(cluster, installed, "delete", "nodes")
    assert not allowed(cluster, installed, "create", "pods", namespace="shop")
    assert not allowed(cluster, installed, "create", "pods", namespace="shop", subresource="exec")
    assert not allowed(cluster, installed, "deletecollection", "secrets", namespace="shop")


def test_namespaced_install_writes_only_in_its_namespace(cluster: Cluster, namespace: str) -> None:
    with install(
        cluster,
        namespace,
        "repo.url=https://git.example.invalid/platform/config.git",
        f"recordsNamespace={namespace}",
        "rbac.clusterWide=false",
        "replicaCount=1",
        wait=False,
    ) as who:
        assert allowed(cluster, who, "create", "deployments", group="apps", namespace=namespace)
        assert not allowed(cluster, who, "create", "deployments", group="apps", namespace="shop")
        assert not allowed(cluster, who, "create", "namespaces")
        # Reads stay cluster-wide: watches and discovery need them.
        assert allowed(cluster, who, "list", "deployments", group="apps", namespace="shop")
        read, manage = who.cluster_names
        rbac = "rbac.authorization.k8s.io/v1"
        assert cluster.get(rbac, "ClusterRoleBinding", read) is not None
        assert cluster.get(rbac, "ClusterRoleBinding", manage) is None
        assert cluster.get(rbac, "RoleBinding", f"{FULLNAME}-manage", namespace) is not None


def minimal(namespace: str, *values: str) -> tuple[str, ...]:
    """Values for an install the tests only ask the authorizer about."""
    return (
        "repo.url=https://git.example.invalid/platform/config.git",
        f"recordsNamespace={namespace}",
        "replicaCount=1",
        *values,
    )


def test_secrets_are_read_and_written_only_in_the_listed_namespaces(
    cluster: Cluster, namespace: str
) -> None:
    values = minimal(namespace, f"rbac.secrets.namespaces={{{namespace}}}")
    with install(cluster, namespace, *values, wait=False) as who:
        for verb in ("get", "list", "watch", "create", "update", "patch", "delete"):
            assert allowed(cluster, who, verb, "secrets", namespace=namespace), verb
            assert not allowed(cluster, who, verb, "secrets", namespace="shop"), verb
            assert not allowed(cluster, who, verb, "secrets"), f"{verb} secrets cluster-wide"


def test_rbac_kinds_are_written_only_when_an_operator_lists_them(
    cluster: Cluster, namespace: str
) -> None:
    rbac = "rbac.authorization.k8s.io"
    values = minimal(
        namespace,
        f"rbac.manage[0].apiGroups={{{rbac}}}",
        "rbac.manage[0].resources={roles,rolebindings}",
    )
    with install(cluster, namespace, *values, wait=False) as who:
        assert allowed(cluster, who, "create", "roles", group=rbac, namespace="shop")
        assert allowed(cluster, who, "create", "rolebindings", group=rbac, namespace="shop")
        # Still no way past its own rights.
        assert not allowed(cluster, who, "bind", "clusterroles", group=rbac)
        assert not allowed(cluster, who, "escalate", "roles", group=rbac, namespace="shop")
        assert not allowed(cluster, who, "create", "clusterrolebindings", group=rbac)


def test_impersonation_is_granted_only_when_enabled_and_only_on_the_listed_accounts(
    cluster: Cluster, namespace: str
) -> None:
    def may_impersonate(who: Install, name: str, ns: str = namespace) -> bool:
        return allowed(cluster, who, "impersonate", "serviceaccounts", namespace=ns, name=name)

    with install(cluster, namespace, *minimal(namespace), wait=False) as who:
        assert not may_impersonate(who, "deployer")
    values = minimal(
        namespace,
        "rbac.impersonate.enabled=true",
        f"rbac.impersonate.serviceAccounts[0].namespace={namespace}",
        "rbac.impersonate.serviceAccounts[0].name=deployer",
    )
    with install(cluster, namespace, *values, wait=False) as who:
        assert may_impersonate(who, "deployer")
        assert not may_impersonate(who, "other")
        assert not may_impersonate(who, "deployer", ns="shop")
        assert not allowed(cluster, who, "impersonate", "users")
        assert not allowed(cluster, who, "impersonate", "groups")


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ("rbac:\n  read: [{apiGroups: ['*'], resources: ['*']}]\n", "rbac.read: "),
        ("rbac:\n  manage: [{apiGroups: [''], resources: [secrets]}]\n", "rbac.manage: "),
        ("rbac:\n  manageVerbs: [create, bind]\n", 'rbac.manageVerbs: "bind"'),
        ("rbac:\n  manageVerbs: [escalate]\n", 'rbac.manageVerbs: "escalate"'),
        ("rbac:\n  impersonate: {enabled: true}\n", "rbac.impersonate.enabled: "),
    ],
)
def test_the_chart_refuses_values_that_open_secrets_or_escalation(
    tmp_path: Path, values: str, refusal: str
) -> None:
    file = tmp_path / "values.yaml"
    file.write_text(values)
    proc = subprocess.run(
        [str(find_tool("helm")), "template", RELEASE, str(CHART), "-f", str(file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode != 0
    assert refusal in proc.stderr, proc.stderr


def template(*values: str) -> subprocess.CompletedProcess[str]:
    sets = [arg for value in values for arg in ("--set", value)]
    return subprocess.run(
        [str(find_tool("helm")), "template", RELEASE, str(CHART), *sets],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def rendered(*values: str) -> dict[str, dict[str, Any]]:
    """The chart's objects by kind (one of each kind the tests look at)."""
    proc = template(*values)
    assert proc.returncode == 0, proc.stderr
    return {d["kind"]: d for d in yaml.safe_load_all(proc.stdout) if d}


def test_the_forge_token_reaches_the_controller_as_a_secret_file_never_in_its_environment() -> None:
    objects = rendered(
        "repo.url=https://git.example.invalid/platform/config.git",
        "forge.url=https://git.example.invalid",
        "forge.repo=platform/config",
        "forge.publicUrl=https://gitward.example.invalid",
        "secret.forgeToken=forge-789",
    )
    secret = objects["Secret"]
    assert base64.b64decode(secret["data"]["forgeToken"]) == b"forge-789"
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]

    def arg(name: str) -> str:
        return str(args[args.index(name) + 1])

    assert arg("--forge") == "gitea"
    assert arg("--forge-url") == "https://git.example.invalid"
    assert arg("--forge-repo") == "platform/config"
    assert arg("--public-url") == "https://gitward.example.invalid"
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "forge"]
    assert mount["readOnly"] is True
    assert arg("--forge-token-file") == f"{mount['mountPath']}/token"
    (volume,) = [v for v in pod["volumes"] if v["name"] == "forge"]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert volume["secret"]["items"] == [{"key": "forgeToken", "path": "token"}]
    env = json.dumps(container["env"])
    assert "forge-789" not in env and "forgeToken" not in env

    plain = rendered("repo.url=https://git.example.invalid/platform/config.git")
    (container,) = plain["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert not any(a.startswith("--forge") for a in container["args"])
    assert "forgeToken" not in plain["Secret"]["data"]

    refused = template("forge.url=https://git.example.invalid")
    assert refused.returncode != 0
    assert "forge.url: previews and deploy statuses need secret.forgeToken" in refused.stderr


def test_the_controller_refuses_a_forge_token_file_it_cannot_use_before_it_starts(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "forge-token"
    empty.write_text("\n")
    missing = tmp_path / "no-such-token"
    args = ["controller", "--repo", "https://git.example.invalid/platform/config.git"]
    args += ["--forge-url", "https://git.example.invalid", "--no-leader-election"]
    for path, said in ((empty, "the file is empty"), (missing, "cannot read it")):
        # The file, when named, wins over the variable.
        refused = gitward(*args, "--forge-token-file", str(path), env={"GITWARD_FORGE_TOKEN": "t"})
        assert refused.returncode == 2, refused.stderr
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith(f"error: --forge-token-file {path}: {said}"), line
    none = gitward(*args, env={"GITWARD_FORGE_TOKEN": ""})
    assert none.returncode == 2
    assert none.stderr.strip() == (
        "error: --forge-url https://git.example.invalid: previews and deploy statuses need "
        "a token in $GITWARD_FORGE_TOKEN or --forge-token-file"
    )


def test_the_api_needs_the_token_from_the_charts_secret_off_loopback(
    cluster: Cluster, installed: Install, tmp_path: Path, git_env: dict[str, str]
) -> None:
    secret = cluster.get("v1", "Secret", FULLNAME, installed.namespace)
    assert secret is not None
    token = base64.b64decode(secret["data"]["apiToken"]).decode()
    assert len(token) >= 32, "the chart generates a strong token"
    repo = ConfigRepo(tmp_path / "config")
    repo.write("gitward.yaml", {"apps": []})
    repo.commit("no apps")
    port = free_port()
    args = ["controller", "--repo", repo.url, "--no-leader-election"]
    args += ["--listen", f"0.0.0.0:{port}"]

    refused = gitward(*args, env={"GITWARD_API_TOKEN": ""})
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"error: --listen 0.0.0.0:{port}: not a loopback address, so the API needs a token; "
        "set $GITWARD_API_TOKEN or --api-token-file"
    )

    token_file = tmp_path / "api-token"
    token_file.write_text(token + "\n")
    log = tmp_path / "controller.log"
    env = {**os.environ, "GITWARD_CACHE": str(tmp_path / "cache"), "GITWARD_API_TOKEN": ""}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gitward", *args, "--api-token-file", str(token_file)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/api/v1/apps", headers=auth, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        for path in ("/api/v1/apps", "/metrics", "/openapi.json"):
            for headers in ({}, {"Authorization": "Bearer not-the-token"}):
                answer = httpx.get(url + path, headers=headers, timeout=5)
                assert answer.status_code == 401, (path, headers)
            assert httpx.get(url + path, headers=auth, timeout=5).status_code == 200
        assert httpx.get(f"{url}/api/v1/apps", headers=auth).json() == {"apps": []}
        for probe in ("/healthz", "/readyz"):
            assert httpx.get(url + probe, timeout=5).text == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def documents(*values: str) -> list[dict[str, Any]]:
    """Every object the chart renders with ``values``."""
    proc = template(*values)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def controller_of(objects: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Deployment's pod spec and its one container."""
    pod = one(objects, "Deployment", FULLNAME)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def arg_of(container: dict[str, Any], name: str) -> str:
    args = container["args"]
    return str(args[args.index(name) + 1])


REPO_URL = "repo.url=https://git.example.invalid/platform/config.git"
FORGE = ("forge.url=https://git.example.invalid", "secret.forgeToken=forge-789")


def test_ui_users_secret_is_passed_and_read_from_the_records_namespace_by_name() -> None:
    objects = documents(
        REPO_URL, "recordsNamespace=records", "ui.usersSecret=gw-ui-users", "ui.secureCookie=true"
    )
    _, container = controller_of(objects)
    assert arg_of(container, "--ui-users-secret") == "gw-ui-users"
    assert "--ui-secure-cookie" in container["args"]
    assert "--no-ui" not in container["args"]
    # The controller looks the Secret up in GITWARD_NAMESPACE, so the Role is there.
    env = {e["name"]: e for e in container["env"]}
    assert env["GITWARD_NAMESPACE"]["value"] == "records"
    role = one(objects, "Role", f"{FULLNAME}-ui-users")
    assert role["metadata"]["namespace"] == "records"
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["gw-ui-users"],
            "verbs": ["get"],
        }
    ]
    binding = one(objects, "RoleBinding", f"{FULLNAME}-ui-users")
    assert binding["metadata"]["namespace"] == "records"
    assert binding["roleRef"]["name"] == f"{FULLNAME}-ui-users"

    # Another namespace's Secret of the same name is not the chart's credentials.
    elsewhere = documents(REPO_URL, "recordsNamespace=records", f"ui.usersSecret={FULLNAME}")
    assert one(elsewhere, "Role", f"{FULLNAME}-ui-users")["rules"][0]["resourceNames"] == [FULLNAME]

    plain = documents(REPO_URL, "ui.enabled=false")
    _, container = controller_of(plain)
    assert "--no-ui" in container["args"]
    assert not any(
        a.startswith(("--ui-", "--rollback", "--notifications")) for a in container["args"]
    )
    assert not [
        o for o in plain if o["metadata"]["name"].endswith(("-ui-users", "-notify-secrets"))
    ]
    assert not [o for o in plain if o["kind"] == "ConfigMap"]


def test_the_rollback_token_is_a_mounted_secret_file_never_in_the_environment() -> None:
    objects = documents(
        REPO_URL,
        *FORGE,
        "rollback.enabled=true",
        "rollback.username=promoter",
        "secret.promoterToken=promote-321",
    )
    secret = one(objects, "Secret", FULLNAME)
    assert base64.b64decode(secret["data"]["promoterToken"]) == b"promote-321"
    pod, container = controller_of(objects)
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "rollback"]
    assert mount["readOnly"] is True
    assert arg_of(container, "--rollback-token-file") == f"{mount['mountPath']}/token"
    # Apart from the controller's own forge token, which may not push or open pull requests.
    assert arg_of(container, "--forge-token-file") != arg_of(container, "--rollback-token-file")
    (volume,) = [v for v in pod["volumes"] if v["name"] == "rollback"]
    assert volume["secret"]["secretName"] == FULLNAME
    assert volume["secret"]["items"] == [{"key": "promoterToken", "path": "token"}]
    env = {e["name"]: e for e in container["env"]}
    assert env["GITWARD_FORGE_USERNAME"]["value"] == "promoter"
    text = json.dumps(container["env"])
    assert "promote-321" not in text and "promoterToken" not in text

    # A Secret of the operator's, under a key of their choosing.
    theirs = documents(
        REPO_URL,
        *FORGE,
        "rollback.enabled=true",
        "rollback.tokenSecret=promoter-token",
        "rollback.tokenKey=token",
    )
    pod, _ = controller_of(theirs)
    (volume,) = [v for v in pod["volumes"] if v["name"] == "rollback"]
    assert volume["secret"]["secretName"] == "promoter-token"
    assert volume["secret"]["items"] == [{"key": "token", "path": "token"}]
    assert "promoterToken" not in one(theirs, "Secret", FULLNAME)["data"]

    existing = documents(
        REPO_URL,
        "forge.url=https://git.example.invalid",
        "secret.existingSecret=mine",
        "rollback.enabled=true",
    )
    pod, _ = controller_of(existing)
    (volume,) = [v for v in pod["volumes"] if v["name"] == "rollback"]
    assert volume["secret"]["secretName"] == "mine"
    assert volume["secret"]["items"] == [{"key": "promoterToken", "path": "token"}]

    _, container = controller_of(documents(REPO_URL, *FORGE, "secret.promoterToken=p"))
    assert "--rollback-token-file" not in container["args"]
    assert not any(m["name"] == "rollback" for m in container["volumeMounts"])


NOTIFY = (
    "notifications.providers[0].name=ops",
    "notifications.providers[0].type=webhook",
    "notifications.providers[0].url=https://hooks.example.invalid/gitward",
    "notifications.providers[0].secretRef.name=gw-notify",
    "notifications.providers[0].secretRef.key=hmac",
    "notifications.providers[0].events={sync-failed,health-degraded}",
    "notifications.providers[1].name=audit",
    "notifications.providers[1].type=webhook",
    "notifications.providers[1].url=https://audit.example.invalid/in",
    "notifications.providers[1].secretRef.name=gw-notify",
    "notifications.providers[2].name=chat",
    "notifications.providers[2].type=slack",
    "notifications.providers[2].url=https://chat.example.invalid/hooks/x",
    "notifications.providers[2].apps={shop-*}",
    "notifications.providers[3].name=signed-elsewhere",
    "notifications.providers[3].type=webhook",
    "notifications.providers[3].url=https://other.example.invalid/in",
    "notifications.providers[3].secretRef.name=gw-notify-other",
    "notifications.providers[4].name=commits",
    "notifications.providers[4].type=forge",
    "notifications.retry.maxDelay=30",
)


def test_notification_settings_are_a_mounted_file_the_controller_accepts(tmp_path: Path) -> None:
    objects = documents(REPO_URL, *FORGE, "recordsNamespace=records", *NOTIFY)
    config = one(objects, "ConfigMap", f"{FULLNAME}-notifications")
    pod, container = controller_of(objects)
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "notifications"]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == "notifications"]
    assert volume["configMap"]["name"] == config["metadata"]["name"]
    (key,) = config["data"]
    path = arg_of(container, "--notifications")
    assert path == f"{mount['mountPath']}/{key}"

    # The file as the pod sees it, read by the controller's own loader.
    file = tmp_path / key
    file.write_text(config["data"][key])
    settings = load_settings(str(file), forge_url="https://git.example.invalid")
    by_name = {p.name: p for p in settings.providers}
    assert list(by_name) == ["ops", "audit", "chat", "signed-elsewhere", "commits"]
    assert by_name["ops"].kind is ProviderKind.WEBHOOK
    assert by_name["ops"].secret_ref == SecretRef(name="gw-notify", key="hmac")
    assert by_name["ops"].events == {EventKind.SYNC_FAILED, EventKind.HEALTH_DEGRADED}
    assert by_name["audit"].secret_ref == SecretRef(name="gw-notify", key="secret")
    assert by_name["chat"].apps == ("shop-*",)
    assert by_name["commits"].kind is ProviderKind.FORGE
    assert settings.retry.maximum == 30

    # The Secrets they name, each once, readable by name in the records namespace only.
    role = one(objects, "Role", f"{FULLNAME}-notify-secrets")
    assert role["metadata"]["namespace"] == "records"
    (rule,) = role["rules"]
    assert rule["resources"] == ["secrets"]
    assert rule["verbs"] == ["get"]
    assert rule["resourceNames"] == ["gw-notify", "gw-notify-other"]

    # Changed settings roll the pods: the controller reads the file at start.
    changed = documents(REPO_URL, *FORGE, "recordsNamespace=records", *NOTIFY[:-1])
    checksums = [
        one(o, "Deployment", FULLNAME)["spec"]["template"]["metadata"]["annotations"][
            "checksum/notifications"
        ]
        for o in (objects, changed)
    ]
    assert checksums[0] != checksums[1]

    unsigned = documents(
        REPO_URL,
        "notifications.providers[0].name=chat",
        "notifications.providers[0].type=slack",
        "notifications.providers[0].url=https://chat.example.invalid/hooks/x",
    )
    assert one(unsigned, "ConfigMap", f"{FULLNAME}-notifications")
    assert not [o for o in unsigned if o["metadata"]["name"].endswith("-notify-secrets")]


def test_the_controller_reads_only_the_secrets_its_ui_and_notifications_name(
    cluster: Cluster, namespace: str
) -> None:
    values = minimal(namespace, *FORGE, "ui.usersSecret=gw-ui-users", *NOTIFY)
    with install(cluster, namespace, *values, wait=False) as who:
        for name in ("gw-ui-users", "gw-notify", "gw-notify-other"):
            assert allowed(cluster, who, "get", "secrets", namespace=namespace, name=name), name
            assert not allowed(cluster, who, "get", "secrets", namespace="shop", name=name), name
            for verb in ("update", "patch", "delete"):
                assert not allowed(cluster, who, verb, "secrets", namespace=namespace, name=name)
        assert not allowed(cluster, who, "get", "secrets", namespace=namespace, name=FULLNAME)
        assert not allowed(cluster, who, "get", "secrets", namespace=namespace, name="other")
        for verb in ("list", "watch"):
            assert not allowed(cluster, who, verb, "secrets", namespace=namespace), verb
        config = cluster.get("v1", "ConfigMap", f"{FULLNAME}-notifications", namespace)
        assert config is not None
        assert "gw-notify-other" in config["data"]["notifications.yaml"]


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        (
            ("rollback.enabled=true", "secret.promoterToken=p"),
            "rollback.enabled: the rollback button opens pull requests on the config "
            "repository's forge; set forge.url",
        ),
        (
            ("rollback.enabled=true", *FORGE),
            "rollback.enabled: the rollback button needs the promoter's token: "
            "secret.promoterToken, rollback.tokenSecret, or a promoterToken key in "
            "secret.existingSecret",
        ),
        (
            ("ui.usersSecret=gw-gitward", "recordsNamespace=default"),
            "ui.usersSecret: gw-gitward is the chart's credentials Secret",
        ),
        (
            ("notifications.providers[0].name=commits", "notifications.providers[0].type=forge"),
            "notifications.providers[0] (commits): a forge provider sets commit statuses "
            "through the controller's forge; set forge.url",
        ),
        (
            (
                "notifications.providers[0].name=ops",
                "notifications.providers[0].type=webhook",
                "notifications.providers[0].url=https://hooks.example.invalid/x",
                "notifications.providers[0].secretFile=hmac.key",
            ),
            "notifications.providers[0] (ops): secretFile names a file in the pod, which the "
            "chart does not mount; use secretRef",
        ),
        (
            ("notifications.providers[0].type=slack",),
            "notifications.providers[0]: every provider needs a name",
        ),
    ],
)
def test_the_chart_refuses_ui_rollback_and_notification_values_the_controller_cannot_use(
    values: tuple[str, ...], refusal: str
) -> None:
    proc = template(REPO_URL, *values)
    assert proc.returncode != 0
    assert refusal in proc.stderr, proc.stderr
