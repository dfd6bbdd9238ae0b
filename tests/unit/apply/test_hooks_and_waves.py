"""The order of a sync's writes, hooks and health reads, against an in-process fake API server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from gitward.apply.applier import ApplyOptions, apply_plan
from gitward.apply.changes import ChangeSet, Outcome
from gitward.kube import Kube, KubeConfig
from gitward.objects import Body, Manifest, ObjectRef
from gitward.plan.model import Action, Plan, PlannedObject
from gitward.plan.order import sort_key

MANAGER = "gitward/shop"


def _group(name: str, version: str, *kinds: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "versions": [
            {
                "version": version,
                "resources": [
                    {
                        "resource": plural,
                        "responseKind": {"kind": kind},
                        "scope": scope,
                        "verbs": ["get", "list", "patch", "create", "update", "delete"],
                    }
                    for kind, plural, scope in kinds
                ],
            }
        ],
    }


CORE = _group(
    "", "v1", ("ConfigMap", "configmaps", "Namespaced"), ("Namespace", "namespaces", "Cluster")
)
APIS = [
    _group("apps", "v1", ("Deployment", "deployments", "Namespaced")),
    _group("batch", "v1", ("Job", "jobs", "Namespaced")),
]
_KINDS = {
    "configmaps": ("v1", "ConfigMap"),
    "namespaces": ("v1", "Namespace"),
    "deployments": ("apps/v1", "Deployment"),
    "jobs": ("batch/v1", "Job"),
}


class FakeApi:
    """Keeps objects by (plural, namespace, name) and logs every request as
    ``VERB plural/name``. Jobs complete at once; a Deployment named ``stuck``
    is past its progress deadline, any other is available."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Body] = {}
        self.log: list[str] = []
        self.params: list[dict[str, str]] = []
        self.created = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api":
            return httpx.Response(200, json={"kind": "APIGroupDiscoveryList", "items": [CORE]})
        if path == "/apis":
            return httpx.Response(200, json={"kind": "APIGroupDiscoveryList", "items": APIS})
        parts = path.strip("/").split("/")
        parts = parts[2:] if parts[0] == "api" else parts[3:]
        ns = ""
        if parts[0] == "namespaces" and len(parts) > 2:
            ns, parts = parts[1], parts[2:]
        plural, name = parts[0], parts[1] if len(parts) > 1 else ""
        self.log.append(f"{request.method} {plural}/{name}".rstrip("/"))
        self.params.append(dict(request.url.params))
        key = (plural, ns, name)
        if request.method == "GET" and name:
            body = self.objects.get(key)
            return httpx.Response(200, json=body) if body else _missing(plural, name)
        if request.method == "GET":
            items = [b for (p, n, _), b in self.objects.items() if p == plural and n == ns]
            return httpx.Response(200, json={"items": items, "metadata": {}})
        if request.method == "DELETE":
            return (
                httpx.Response(200, json={})
                if self.objects.pop(key, None)
                else _missing(plural, name)
            )
        body = json.loads(request.content)
        if request.method == "POST":
            self.created += 1
            name = (
                body["metadata"].get("name") or f"{body['metadata']['generateName']}{self.created}"
            )
            body["metadata"]["name"] = name
            key = (plural, ns, name)
        api_version, kind = _KINDS[plural]
        body.update(apiVersion=api_version, kind=kind)
        body["metadata"].update(uid=f"uid-{name}", generation=1)
        body["status"] = _status(kind, name)
        self.objects[key] = body
        return httpx.Response(200, json=body)

    def writes(self) -> list[str]:
        return [entry for entry in self.log if not entry.startswith("GET")]


def _missing(plural: str, name: str) -> httpx.Response:
    return httpx.Response(
        404,
        json={"kind": "Status", "code": 404, "reason": "NotFound", "message": f"{plural} {name}"},
    )


def _status(kind: str, name: str) -> dict[str, Any]:
    if kind == "Job":
        return {"conditions": [{"type": "Complete", "status": "True"}]}
    if kind == "Deployment" and name == "stuck":
        return {
            "observedGeneration": 1,
            "conditions": [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
            ],
        }
    if kind == "Deployment":
        return {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
        }
    return {}


def obj(
    kind: str,
    name: str,
    annotations: dict[str, str] | None = None,
    *,
    action: Action = Action.CREATE,
    generate: bool = False,
) -> PlannedObject:
    api_version = {"Deployment": "apps/v1", "Job": "batch/v1"}.get(kind, "v1")
    meta: dict[str, Any] = {("generateName" if generate else "name"): name}
    if kind != "Namespace":
        meta["namespace"] = "shop"
    if annotations:
        meta["annotations"] = annotations
    body: Body = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    m = Manifest(body=body, source=f"{name}.yaml")
    ref = ObjectRef.of(body) if not generate else ObjectRef("batch", "Job", "shop", name)
    return PlannedObject(
        ref=ref,
        api_version=api_version,
        action=action,
        source=m.source,
        sort_key=sort_key(m),
        desired=body,
        live=body if action is Action.UNCHANGED else None,
    )


def apply(api: FakeApi, *objects: PlannedObject, installed: bool = False) -> ChangeSet:
    plan = Plan(
        app="shop",
        objects=tuple(sorted(objects, key=lambda o: o.sort_key)),
        installed=installed,
        field_manager=MANAGER,
    )

    async def main() -> ChangeSet:
        kube = Kube(KubeConfig(server="https://fake"), transport=httpx.MockTransport(api))
        try:
            changes, _ = await apply_plan(kube=kube, plan=plan, options=ApplyOptions(timeout=5.0))
            return changes
        finally:
            await kube.aclose()

    return asyncio.run(main())


def test_namespaces_are_written_before_the_hooks_that_run_in_them() -> None:
    api = FakeApi()
    apply(
        api,
        obj("ConfigMap", "cfg"),
        obj("Job", "migrate", {"helm.sh/hook": "pre-install"}, action=Action.HOOK),
        obj("Namespace", "shop"),
    )
    assert api.writes() == [
        "PATCH namespaces/shop",
        "DELETE jobs/migrate",
        "PATCH jobs/migrate",
        "PATCH configmaps/cfg",
    ]


def test_install_hooks_run_until_the_app_is_installed_then_upgrade_hooks() -> None:
    hooks = (
        obj("Job", "install", {"helm.sh/hook": "pre-install"}, action=Action.HOOK),
        obj("Job", "upgrade", {"helm.sh/hook": "pre-upgrade"}, action=Action.HOOK),
        obj("Job", "every", {"argocd.argoproj.io/hook": "PreSync"}, action=Action.HOOK),
        obj("ConfigMap", "cfg"),
    )
    first, later = FakeApi(), FakeApi()
    apply(first, *hooks)
    apply(later, *hooks, installed=True)
    assert [w for w in first.writes() if w.startswith("PATCH jobs")] == [
        "PATCH jobs/every",
        "PATCH jobs/install",
    ]
    assert [w for w in later.writes() if w.startswith("PATCH jobs")] == [
        "PATCH jobs/every",
        "PATCH jobs/upgrade",
    ]


def test_a_wave_waits_for_the_health_of_the_previous_one_only_when_it_wrote() -> None:
    api = FakeApi()
    apply(
        api,
        obj("Deployment", "db", {"argocd.argoproj.io/sync-wave": "0"}),
        obj("ConfigMap", "app", {"argocd.argoproj.io/sync-wave": "1"}),
    )
    assert api.log == ["PATCH deployments/db", "GET deployments/db", "PATCH configmaps/app"]

    quiet = FakeApi()
    apply(
        quiet,
        obj("Deployment", "db", {"argocd.argoproj.io/sync-wave": "0"}, action=Action.UNCHANGED),
        obj("ConfigMap", "app", {"argocd.argoproj.io/sync-wave": "1"}),
    )
    assert quiet.log == ["PATCH configmaps/app"], "an unchanged wave waits for nothing"


def test_a_degraded_wave_stops_the_sync_naming_it_and_runs_the_syncfail_hooks() -> None:
    api = FakeApi()
    changes = apply(
        api,
        obj("Deployment", "stuck", {"argocd.argoproj.io/sync-wave": "0"}),
        obj("ConfigMap", "later", {"argocd.argoproj.io/sync-wave": "1"}),
        obj(
            "Job",
            "cleanup-",
            {"argocd.argoproj.io/hook": "SyncFail"},
            action=Action.HOOK,
            generate=True,
        ),
    )
    by_name = {c.ref.name: c for c in changes.changes}
    assert by_name["stuck"].outcome is Outcome.FAILED
    assert by_name["stuck"].message.startswith("Degraded")
    assert by_name["later"].outcome is Outcome.SKIPPED
    assert "PATCH configmaps/later" not in api.log
    assert "POST jobs" in api.log
    assert by_name["cleanup-1"].outcome is Outcome.HOOK_SUCCEEDED


def test_generate_name_hooks_are_created_anew_by_the_apps_field_manager() -> None:
    api = FakeApi()
    hook = obj(
        "Job",
        "migrate-",
        {
            "argocd.argoproj.io/hook": "PreSync",
            "argocd.argoproj.io/hook-delete-policy": "HookFailed",
        },
        action=Action.HOOK,
        generate=True,
    )
    changes = apply(api, hook, obj("ConfigMap", "cfg"))
    assert changes.changes[0].ref.name == "migrate-1"
    assert changes.changes[0].outcome is Outcome.HOOK_SUCCEEDED
    post = api.log.index("POST jobs")
    assert api.params[post]["fieldManager"] == MANAGER
    assert ("jobs", "shop", "migrate-1") in api.objects, "HookFailed keeps a hook that succeeded"


def test_hook_succeeded_deletes_the_hook_after_it_ran() -> None:
    api = FakeApi()
    apply(
        api,
        obj(
            "Job",
            "smoke",
            {
                "argocd.argoproj.io/hook": "PostSync",
                "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
            },
            action=Action.HOOK,
        ),
        obj("ConfigMap", "cfg"),
    )
    assert api.writes()[-1] == "DELETE jobs/smoke"
    assert ("jobs", "shop", "smoke") not in api.objects


def test_replace_true_posts_a_new_object_and_puts_a_changed_one() -> None:
    api = FakeApi()
    replaced = {"argocd.argoproj.io/sync-options": "Replace=true"}
    apply(
        api,
        obj("ConfigMap", "new", replaced),
        obj("ConfigMap", "old", replaced, action=Action.UPDATE),
    )
    assert sorted(api.writes()) == ["POST configmaps", "PUT configmaps/old"]


def test_an_argo_sync_hook_runs_with_its_wave_before_the_next_one() -> None:
    api = FakeApi()
    apply(
        api,
        obj("ConfigMap", "first", {"argocd.argoproj.io/sync-wave": "1"}),
        obj(
            "Job",
            "seed",
            {"argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/sync-wave": "1"},
            action=Action.HOOK,
        ),
        obj("ConfigMap", "second", {"argocd.argoproj.io/sync-wave": "2"}),
    )
    assert [w for w in api.writes() if w.startswith("PATCH")] == [
        "PATCH configmaps/first",
        "PATCH jobs/seed",
        "PATCH configmaps/second",
    ]
