"""Which new objects may skip the dry-run: the kinds, and what in the cluster may refuse them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gitward.config.apps import AppSpec
from gitward.kube import Kube, Resource
from gitward.kube.fake import DEFAULT_RESOURCES, FakeApiServer
from gitward.kube.openapi import OpenAPIDocuments, default_cache_dir
from gitward.objects import Body, Manifest
from gitward.plan.model import ObjectError
from gitward.plan.prechecks import (
    Admission,
    may_precheck,
    prechecks,
    read_admission,
    recent_admission,
)
from gitward.plan.preparing import Prepared, prepare
from tests.unit.fakecluster import run

APP = AppSpec(name="shop", path="app", namespace="shop")
ADMISSION = "admissionregistration.k8s.io"


def served(group: str, kind: str, plural: str, *, namespaced: bool) -> Resource:
    verbs = frozenset({"create", "get", "list", "patch", "watch"})
    return Resource(group, "v1", kind, plural, namespaced, verbs)


def server() -> FakeApiServer:
    return FakeApiServer(
        resources=(
            *DEFAULT_RESOURCES,
            served(
                ADMISSION,
                "ValidatingWebhookConfiguration",
                "validatingwebhookconfigurations",
                namespaced=False,
            ),
            served(
                ADMISSION,
                "ValidatingAdmissionPolicy",
                "validatingadmissionpolicies",
                namespaced=False,
            ),
            served("", "ResourceQuota", "resourcequotas", namespaced=True),
        ),
        namespaces=("default", "shop", "quota"),
    )


async def prepare_all(kube: Kube, *bodies: Body) -> list[Prepared]:
    out = []
    for body in bodies:
        errors: list[ObjectError] = []
        p = await prepare(kube, APP, Manifest(body=body, source="x.yaml"), {}, errors)
        assert p is not None, errors
        out.append(p)
    return out


def obj(api_version: str, kind: str, name: str = "x", **meta: Any) -> Body:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, **meta}}


def test_built_in_kinds_may_be_prechecked_but_pods_rbac_and_replaced_objects_may_not() -> None:
    replaced = obj(
        "v1", "ConfigMap", "r", annotations={"argocd.argoproj.io/sync-options": "Replace=true"}
    )

    async def go(kube: Kube) -> list[bool]:
        ps = await prepare_all(
            kube,
            obj("v1", "ConfigMap"),
            obj("apps/v1", "Deployment"),
            obj("v1", "Pod"),
            obj("rbac.authorization.k8s.io/v1", "Role"),
            replaced,
        )
        return [may_precheck(p) for p in ps]

    assert run(server(), go) == [True, True, False, False, False]


def test_an_empty_cluster_refuses_nothing_beyond_the_schema() -> None:
    async def go(kube: Kube) -> tuple[Admission, list[bool]]:
        admission = await read_admission(kube)
        ps = await prepare_all(kube, obj("v1", "ConfigMap"), obj("apps/v1", "Deployment"))
        return admission, [admission.may_refuse(p) for p in ps]

    admission, refused = run(server(), go)
    assert not admission.everything
    assert refused == [False, False]


def test_a_webhook_or_policy_on_creates_of_a_kind_sends_that_kind_to_the_server() -> None:
    webhook = obj(f"{ADMISSION}/v1", "ValidatingWebhookConfiguration", "hook")
    webhook["webhooks"] = [
        {
            "name": "hook.example.com",
            "rules": [
                {
                    "apiGroups": ["apps"],
                    "apiVersions": ["*"],
                    "operations": ["CREATE"],
                    "resources": ["deployments"],
                },
                {
                    "apiGroups": [""],
                    "apiVersions": ["*"],
                    "operations": ["DELETE"],
                    "resources": ["*"],
                },
            ],
        }
    ]
    policy = obj(f"{ADMISSION}/v1", "ValidatingAdmissionPolicy", "policy")
    policy["spec"] = {
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["*"],
                    "apiVersions": ["*"],
                    "operations": ["*"],
                    "resources": ["secrets"],
                }
            ]
        }
    }

    async def go(kube: Kube) -> list[bool]:
        await kube.apply(webhook)
        await kube.apply(policy)
        admission = await read_admission(kube)
        ps = await prepare_all(
            kube, obj("apps/v1", "Deployment"), obj("v1", "ConfigMap"), obj("v1", "Secret")
        )
        return [admission.may_refuse(p) for p in ps]

    assert run(server(), go) == [True, False, True]


def test_a_namespace_with_a_quota_sends_its_new_objects_to_the_server() -> None:
    quota = obj("v1", "ResourceQuota", "q", namespace="quota")

    async def go(kube: Kube) -> list[bool]:
        await kube.apply(quota)
        admission = await read_admission(kube)
        ps = await prepare_all(
            kube,
            obj("v1", "ConfigMap", namespace="quota"),
            obj("v1", "ConfigMap", namespace="shop"),
        )
        return [admission.may_refuse(p) for p in ps]

    assert run(server(), go) == [True, False]


def test_syncs_close_together_share_one_reading_of_admission_and_a_later_one_reads_again() -> None:
    quota = obj("v1", "ResourceQuota", "q", namespace="quota")

    async def go(kube: Kube) -> tuple[bool, bool, bool]:
        (p,) = await prepare_all(kube, obj("v1", "ConfigMap", namespace="quota"))
        before = await recent_admission(kube, ttl=60)
        await kube.apply(quota)
        shared = await recent_admission(kube, ttl=60)
        fresh = await recent_admission(kube, ttl=0)
        return before.may_refuse(p), shared.may_refuse(p), fresh.may_refuse(p)

    # The quota made after the first reading is seen only once the reading expired.
    assert run(server(), go) == (False, False, True)


def test_a_server_without_openapi_v3_leaves_every_object_to_the_dry_run() -> None:
    srv = server()

    async def go(kube: Kube) -> bool:
        ps = await prepare_all(kube, obj("v1", "ConfigMap"))
        checks = await prechecks(kube, ps)
        return checks.check_for(ps[0]) is None

    assert run(srv, go)
    assert [c.path for c in srv.calls if c.path.startswith("/openapi")] == ["/openapi/v3"]


def test_openapi_documents_are_fetched_once_per_content_without_descriptions() -> None:
    fetched: list[str] = []
    docs = {
        "/openapi/v3": {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=A"}}},
        "/openapi/v3/api/v1?hash=A": {
            "components": {
                "schemas": {
                    "x.Thing": {
                        "description": "dropped",
                        "properties": {"description": {"type": "string", "description": "x"}},
                    }
                }
            }
        },
    }

    async def fetch(path: str, subject: str) -> Any:
        fetched.append(path)
        return docs[path]

    async def go() -> tuple[Any, Any, Any]:
        documents = OpenAPIDocuments(fetch)
        return (
            await documents.schemas("v1"),
            await documents.schemas("v1"),
            await documents.schemas("apps/v1"),
        )

    first, second, absent = asyncio.run(go())
    assert first == {"x.Thing": {"properties": {"description": {"type": "string"}}}}
    assert second is first
    assert absent is None
    assert fetched == ["/openapi/v3", "/openapi/v3/api/v1?hash=A"]


def test_a_second_process_reads_the_schemas_from_the_cache_directory_once(tmp_path: Path) -> None:
    fetched: list[str] = []
    docs = {
        "/openapi/v3": {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=B"}}},
        "/openapi/v3/api/v1?hash=B": {"components": {"schemas": {"x.Thing": {"type": "object"}}}},
    }

    async def fetch(path: str, subject: str) -> Any:
        fetched.append(path)
        return docs[path]

    async def one_process() -> Any:
        return await OpenAPIDocuments(fetch, cache_dir=tmp_path).schemas("v1")

    async def reading_twice() -> tuple[Any, Any]:
        documents = OpenAPIDocuments(fetch, cache_dir=tmp_path)
        found = await documents.schemas("v1")
        # Read from disk once, then kept in memory: the file gone, nothing is fetched.
        for cached in tmp_path.iterdir():
            cached.unlink()
        return found, await documents.schemas("v1")

    first = asyncio.run(one_process())
    second, again = asyncio.run(reading_twice())
    assert first == second == {"x.Thing": {"type": "object"}}
    assert again is second
    # The list of documents is read by each process; the document itself once.
    assert fetched == ["/openapi/v3", "/openapi/v3/api/v1?hash=B", "/openapi/v3"]


def test_without_a_home_the_schemas_are_kept_in_memory_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", no_home)
    assert default_cache_dir() is None
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/x")
    assert default_cache_dir() == Path("/var/cache/x/gitward/openapi")


def test_syncs_share_the_schema_check_of_a_document_the_client_keeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept = {
        "io.k8s.api.core.v1.ConfigMap": {
            "type": "object",
            "x-kubernetes-group-version-kind": [
                {"group": "", "version": "v1", "kind": "ConfigMap"}
            ],
        }
    }

    async def openapi_schemas(self: Kube, api_version: str) -> Any:
        return kept if api_version == "v1" else None

    monkeypatch.setattr(Kube, "openapi_schemas", openapi_schemas)

    async def go(kube: Kube) -> tuple[Any, Any]:
        ps = await prepare_all(kube, obj("v1", "ConfigMap", namespace="shop"))
        first, second = await prechecks(kube, ps), await prechecks(kube, ps)
        return first.check_for(ps[0]), second.check_for(ps[0])

    first, second = run(server(), go)
    assert first is not None
    # Built once from the document the client keeps, not once per sync.
    assert second is first
