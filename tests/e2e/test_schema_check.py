"""The client's schema check of new objects, held against the real API server.

For each input, the server's dry-run says whether its typed apply refuses it
(a type, an undeclared field, a duplicate key, a value that does not decode);
the check made from the schemas the same server publishes must agree. What
only the server's own validation refuses passes the check: that is the gap
the README names, and a cold sync sends such objects' kinds nowhere else.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from gitward.config.apps import AppSpec
from gitward.kube import Invalid, Kube, KubeError
from gitward.objects import Body, Manifest
from gitward.plan.schemas import SchemaCheck
from gitward.reconcile import SyncOptions, sync_app
from gitward.source.revisions import Revision
from tests.e2e.conftest import Cluster

CONTAINERS = ("spec", "template", "spec", "containers")


def deployment(path: tuple[str, ...] = (), value: Any = None) -> Body:
    body: Body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "a", "image": "nginx"}]},
            },
        },
    }
    if path:
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return body


def container(**fields: Any) -> list[dict[str, Any]]:
    return [{"name": "a", "image": "nginx", **fields}]


def core(kind: str, **fields: Any) -> Body:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, **fields}


REFUSED_BY_TYPE: dict[str, Body] = {
    "string for an integer": deployment(("spec", "replicas"), "many"),
    "fraction for an integer": deployment(("spec", "replicas"), 1.5),
    "boolean for an integer": deployment(("spec", "replicas"), True),
    "undeclared field": deployment(("spec", "colour"), "red"),
    "map for a list": deployment(CONTAINERS, {"name": "a"}),
    "list for a map": deployment(("spec",), []),
    "number for a string": deployment(CONTAINERS, container(image=5)),
    "duplicate container": deployment(CONTAINERS, [*container(), *container()]),
    "duplicate port with a defaulted key": deployment(
        CONTAINERS,
        container(ports=[{"containerPort": 80}, {"containerPort": 80, "protocol": "TCP"}]),
    ),
    "null container": deployment(CONTAINERS, [None]),
    "no quantity": deployment(CONTAINERS, container(resources={"limits": {"cpu": "lots"}})),
    "no time": deployment(("metadata", "creationTimestamp"), "yesterday"),
    "duplicate finalizer": deployment(("metadata", "finalizers"), ["a/b", "a/b"]),
    "list for int-or-string": deployment(
        ("spec", "strategy"), {"rollingUpdate": {"maxSurge": [1]}}
    ),
    "number for a ConfigMap value": core("ConfigMap", data={"a": 1}),
    "no base64 in a Secret": core("Secret", data={"a": "YWI"}),
    "boolean for a Service target port": core(
        "Service", spec={"ports": [{"port": 80, "targetPort": True}]}
    ),
}
ACCEPTED: dict[str, Body] = {
    "a plain Deployment": deployment(),
    "whole floats for integers": deployment(CONTAINERS, container(ports=[{"containerPort": 80.0}])),
    "null for unset": deployment(("spec", "replicas"), None),
    "numbers for quantities": deployment(
        CONTAINERS, container(resources={"limits": {"cpu": 1.5, "memory": 1024}})
    ),
    "a string target port": core("Service", spec={"ports": [{"port": 80, "targetPort": "http"}]}),
    "a Secret": core("Secret", data={"a": "YWJj"}),
}
ONLY_THE_SERVER_REFUSES: dict[str, Body] = {
    "a selector that does not match": deployment(
        ("spec", "selector"), {"matchLabels": {"app": "other"}}
    ),
    "a container without an image": deployment(CONTAINERS, [{"name": "a"}]),
    "an unknown enum value": deployment(CONTAINERS, container(imagePullPolicy="Sometimes")),
    "an invalid name": deployment(("metadata", "name"), "Not_A_Name"),
}


def in_namespace(body: Body, namespace: str) -> Body:
    out = copy.deepcopy(body)
    out["metadata"]["namespace"] = namespace
    return out


def verdicts(cluster: Cluster, body: Body) -> tuple[KubeError | None, str | None]:
    """The server's dry-run refusal of ``body`` (``None``: accepted) and the client check's."""

    async def go(kube: Kube) -> tuple[KubeError | None, str | None]:
        schemas = await kube.openapi_schemas(body["apiVersion"])
        assert schemas is not None
        mine = SchemaCheck(schemas).problems(body)
        try:
            await kube.apply(body, dry_run=True)
        except KubeError as e:
            return e, mine
        return None, mine

    return cluster.call(go)


@pytest.mark.parametrize("case", sorted(REFUSED_BY_TYPE))
def test_the_check_refuses_what_the_servers_typed_apply_refuses(
    case: str, cluster: Cluster, namespace: str
) -> None:
    server, mine = verdicts(cluster, in_namespace(REFUSED_BY_TYPE[case], namespace))
    assert server is not None and not isinstance(server, Invalid), server
    assert mine is not None, f"the server refused, the check did not: {server}"


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_the_check_passes_what_the_server_accepts(
    case: str, cluster: Cluster, namespace: str
) -> None:
    server, mine = verdicts(cluster, in_namespace(ACCEPTED[case], namespace))
    assert server is None
    assert mine is None


@pytest.mark.parametrize("case", sorted(ONLY_THE_SERVER_REFUSES))
def test_what_only_the_kinds_own_validation_refuses_passes_the_check(
    case: str, cluster: Cluster, namespace: str
) -> None:
    server, mine = verdicts(cluster, in_namespace(ONLY_THE_SERVER_REFUSES[case], namespace))
    assert isinstance(server, Invalid), server
    assert mine is None


def cold_sync(cluster: Cluster, namespace: str, app: str, n: int) -> dict[str, int]:
    spec = AppSpec(name=app, path="app", namespace=namespace)
    manifests = tuple(
        Manifest(
            body=core("ConfigMap", data={"i": str(i)}) | {"metadata": {"name": f"c{i}"}},
            source="c.yaml",
        )
        for i in range(n)
    )

    async def go(kube: Kube) -> dict[str, int]:
        result = await sync_app(
            kube=kube,
            app=spec,
            manifests=manifests,
            revision=Revision(sha="0" * 40),
            options=SyncOptions(),
        )
        assert result.exit_code == 0, result.reason
        return kube.stats.snapshot()

    return cluster.call(go)


def test_a_cold_sync_of_new_built_in_objects_sends_no_dry_run(
    cluster: Cluster, namespace: str, app_name: str
) -> None:
    stats = cold_sync(cluster, namespace, app_name, 5)
    assert stats.get("patch-dry-run", 0) == 0, stats
    assert stats.get("patch", 0) >= 5, stats
    names = {c["metadata"]["name"] for c in cluster.list("v1", "ConfigMap", namespace)}
    assert {f"c{i}" for i in range(5)} <= names


@pytest.fixture
def policy_on_configmaps(cluster: Cluster, namespace: str) -> Iterator[None]:
    """A ValidatingAdmissionPolicy on ConfigMaps that refuses nothing: its mere presence
    means the server may refuse a new ConfigMap for reasons a schema cannot show."""
    name = f"gitward-e2e-allow-{namespace}"
    cluster.apply(
        {
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
                "validations": [{"expression": "true"}],
            },
        }
    )
    yield
    cluster.delete("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", name)


def test_new_objects_an_admission_policy_may_refuse_are_dry_run(
    cluster: Cluster, namespace: str, app_name: str, policy_on_configmaps: None
) -> None:
    stats = cold_sync(cluster, namespace, app_name, 3)
    assert stats.get("patch-dry-run") == 3, stats
