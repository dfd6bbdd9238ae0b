"""Impersonation and Forbidden errors, against an in-process fake API server."""

from __future__ import annotations

import json

import httpx
import pytest

from gitward.kube import Forbidden, Kube
from gitward.kube.errors import from_status
from tests.unit.kube.configmaps_only import discovery, run

SA = "system:serviceaccount:shop:deployer"
GROUPS = ("system:serviceaccounts", "system:serviceaccounts:shop")


class FakeServer:
    """Answers discovery and ConfigMap GETs; refuses the impersonated user anything else."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, list[str], list[str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        user = request.headers.get_list("Impersonate-User")
        groups = request.headers.get_list("Impersonate-Group")
        self.seen.append((request.method, request.url.path, user, groups))
        answer = discovery(request, verbs=["get", "list", "patch"])
        if answer is not None:
            return answer
        if request.method == "GET":
            return httpx.Response(200, json={"metadata": {"name": "a", "namespace": "shop"}})
        message = (
            'configmaps "a" is forbidden: User "' + SA + '" cannot patch resource "configmaps" '
            'in API group "" in the namespace "billing": RBAC: role "x" not found'
        )
        return httpx.Response(
            403,
            json={"kind": "Status", "reason": "Forbidden", "code": 403, "message": message},
        )


def test_an_impersonating_client_sends_the_user_and_every_group_on_each_request() -> None:
    server = FakeServer()

    async def go(kube: Kube) -> None:
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        await kube.get(res, name="a", namespace="shop")
        sa = kube.impersonating(user=SA, groups=GROUPS)
        await sa.get(res, name="a", namespace="shop")
        assert sa.impersonated_user == SA and kube.impersonated_user == ""

    run(server, go)
    gets = [s for s in server.seen if s[1].endswith("/configmaps/a")]
    assert gets[0][2:] == ([], [])
    assert gets[1][2:] == ([SA], list(GROUPS))


def test_discovery_and_request_counts_are_shared_with_the_impersonating_client() -> None:
    server = FakeServer()

    async def go(kube: Kube) -> dict[str, int]:
        sa = kube.impersonating(user=SA, groups=GROUPS)
        res = await sa.resource_for("v1", "ConfigMap")
        assert res is not None
        await kube.resource_for("v1", "ConfigMap")
        await sa.get(res, name="a", namespace="shop")
        assert sa.unimpersonated is kube and kube.unimpersonated is kube
        await sa.aclose()  # closes nothing: the connections are the base client's
        await kube.get(res, name="a", namespace="shop")
        return kube.stats.snapshot()

    stats = run(server, go)
    discovery = [s for s in server.seen if s[1] in ("/api", "/apis")]
    assert len(discovery) == 2, "discovery ran once, as gitward itself"
    assert all(s[2] == [] for s in discovery)
    assert stats == {"discovery": 2, "get": 2}


def test_a_refusal_names_the_user_the_verb_and_the_scope() -> None:
    server = FakeServer()

    async def go(kube: Kube) -> None:
        sa = kube.impersonating(user=SA, groups=GROUPS)
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "billing"},
        }
        await sa.apply(body, dry_run=True)

    with pytest.raises(Forbidden) as e:
        run(server, go)
    assert (
        str(e.value)
        == f"ConfigMap/billing/a: forbidden: {SA} cannot patch configmaps in namespace billing"
    )
    assert (e.value.user, e.value.verb) == (SA, "patch")


def test_a_refusal_at_the_cluster_scope_says_so_and_an_unparsed_one_is_kept_whole() -> None:
    message = (
        'clusterroles.rbac.authorization.k8s.io "x" is forbidden: User "u" cannot create '
        'resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope'
    )
    err = from_status(403, "ClusterRole/x", {"message": message, "reason": "Forbidden"})
    assert str(err) == "ClusterRole/x: forbidden: u cannot create clusterroles at the cluster scope"
    odd = from_status(403, "ClusterRole/x", {"message": "admission webhook denied it"})
    assert isinstance(odd, Forbidden)
    assert str(odd) == "ClusterRole/x: admission webhook denied it" and odd.verb == ""
    assert json.dumps(odd.details) == "{}"
