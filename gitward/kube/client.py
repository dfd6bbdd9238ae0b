"""An asynchronous client for exactly the API calls gitward makes.

Why not lightkube or the official client: gitward handles *unstructured*
objects of any kind (whatever a chart renders, CRDs included), so typed models
buy nothing and cost memory and import time; what it needs is discovery-based
REST mapping, server-side apply with dry-run, list/watch with resourceVersion
resume, and a count of every request by verb. That is a few hundred lines over
httpx, which also gives HTTP/2 for the many short requests of a sync.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gitward.kube.discovery import Resource, RestMapper
from gitward.kube.errors import KubeError, NotFound, Unavailable, from_status
from gitward.kube.kubeconfig import KubeConfig, load_kubeconfig
from gitward.objects import FIELD_MANAGER, Body, ObjectRef, group_of

_AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)
_WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass
class RequestStats:
    """Requests sent, by verb (``get``, ``list``, ``watch``, ``patch``, ``patch-dry-run`` …)."""

    by_verb: Counter[str] = field(default_factory=Counter)

    @property
    def writes(self) -> int:
        """Requests that could change state; dry-runs are not writes."""
        return sum(n for verb, n in self.by_verb.items() if verb in _WRITE_VERBS)

    @property
    def total(self) -> int:
        return sum(self.by_verb.values())

    def snapshot(self) -> dict[str, int]:
        return dict(self.by_verb)


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: Body


class Kube:
    """One API server. Use as ``async with Kube.connect() as kube: ...``."""

    def __init__(self, config: KubeConfig, *, timeout: float = 30.0) -> None:
        headers = {"Accept": "application/json", "User-Agent": "gitward"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self.config = config
        self.stats = RequestStats()
        self.mapper = RestMapper()
        self._discovered = False
        self._discovery_lock = asyncio.Lock()
        tls = config.ssl_context()
        self._http = httpx.AsyncClient(
            base_url=config.server,
            verify=tls,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            http2=True,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        )
        # Watches get HTTP/1.1 connections of their own: long-lived idle streams on
        # the shared HTTP/2 connection stall other requests in httpcore, and the
        # server caps streams per connection (100 here).
        self._watch_http = httpx.AsyncClient(
            base_url=config.server,
            verify=tls,
            headers=headers,
            http2=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )

    @classmethod
    def connect(cls, config: KubeConfig | None = None, *, timeout: float = 30.0) -> Kube:
        return cls(config or load_kubeconfig(), timeout=timeout)

    async def __aenter__(self) -> Kube:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._watch_http.aclose()

    # -- transport ---------------------------------------------------------

    async def _request(
        self,
        verb: str,
        method: str,
        path: str,
        *,
        subject: str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str | None = None,
    ) -> Any:
        self.stats.by_verb[verb] += 1
        content = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type} if content is not None else {}
        if accept:
            headers["Accept"] = accept
        try:
            resp = await self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.HTTPError as e:
            raise Unavailable(f"{subject}: API server {self.config.server} unreachable: {e}") from e
        if resp.status_code >= 400:
            try:
                payload = resp.json()
            except ValueError:
                payload = {"message": resp.text.strip()[:300]}
            raise from_status(resp.status_code, subject, payload)
        if not resp.content:
            return None
        return resp.json()

    # -- discovery ---------------------------------------------------------

    async def discover(self, *, refresh: bool = False) -> RestMapper:
        async with self._discovery_lock:
            if self._discovered and not refresh:
                return self.mapper
            mapper = await self._discover_aggregated() or await self._discover_per_group()
            self.mapper = mapper
            self._discovered = True
            return mapper

    async def _discover_aggregated(self) -> RestMapper | None:
        """Two requests for every group and version (Kubernetes 1.30+); ``None`` if unsupported."""
        mapper = RestMapper()
        for path in ("/api", "/apis"):
            doc = await self._request(
                "discovery",
                "GET",
                path,
                subject=f"discovery {path}",
                accept=_AGGREGATED_DISCOVERY,
            )
            if not isinstance(doc, dict) or doc.get("kind") != "APIGroupDiscoveryList":
                return None
            for group in doc.get("items", []):
                name = (group.get("metadata") or {}).get("name", "")
                for i, version in enumerate(group.get("versions", [])):
                    for r in version.get("resources", []):
                        kind = (r.get("responseKind") or {}).get("kind")
                        if not kind:
                            continue
                        mapper.add(
                            Resource(
                                group=name,
                                version=version["version"],
                                kind=kind,
                                plural=r["resource"],
                                namespaced=r.get("scope") == "Namespaced",
                                verbs=frozenset(r.get("verbs", [])),
                            ),
                            preferred=i == 0,
                        )
        return mapper

    async def _discover_per_group(self) -> RestMapper:
        """The pre-1.30 way: one request per group version."""
        mapper = RestMapper()
        core = await self._request("discovery", "GET", "/api/v1", subject="discovery /api/v1")
        self._add_resources(mapper, "", "v1", core, preferred=True)
        groups = await self._request("discovery", "GET", "/apis", subject="discovery /apis")
        fetches = []
        for g in groups.get("groups", []):
            preferred = g.get("preferredVersion", {}).get("version")
            for v in g.get("versions", []):
                fetches.append((g["name"], v["version"], v["version"] == preferred))
        docs = await asyncio.gather(
            *(
                self._request(
                    "discovery", "GET", f"/apis/{gr}/{ver}", subject=f"discovery {gr}/{ver}"
                )
                for gr, ver, _ in fetches
            ),
            return_exceptions=True,
        )
        for (gr, ver, pref), doc in zip(fetches, docs, strict=True):
            if isinstance(doc, BaseException):
                # An aggregated API that is down must not hide the rest.
                continue
            self._add_resources(mapper, gr, ver, doc, preferred=pref)
        return mapper

    @staticmethod
    def _add_resources(
        mapper: RestMapper, group: str, version: str, doc: dict[str, Any], *, preferred: bool
    ) -> None:
        for r in doc.get("resources", []):
            if "/" in r["name"]:
                continue  # subresources
            mapper.add(
                Resource(
                    group=group,
                    version=version,
                    kind=r["kind"],
                    plural=r["name"],
                    namespaced=bool(r["namespaced"]),
                    verbs=frozenset(r.get("verbs", [])),
                ),
                preferred=preferred,
            )

    async def resource_for(self, api_version: str, kind: str) -> Resource | None:
        """The REST resource of ``kind`` in ``api_version``; ``None`` if the server has none."""
        group = group_of(api_version)
        version = api_version.rsplit("/", maxsplit=1)[-1]
        await self.discover()
        found = self.mapper.lookup(group, kind, version)
        if found is None or found.version != version:
            await self.discover(refresh=True)
            found = self.mapper.lookup(group, kind, version)
        if found is not None and found.version != version:
            return None
        return found

    async def _resource_of(self, body: Body) -> Resource:
        api_version, kind = str(body.get("apiVersion", "")), str(body.get("kind", ""))
        res = await self.resource_for(api_version, kind)
        if res is None:
            raise NotFound(
                f"{ObjectRef.of(body)}: the server has no kind {kind} in {api_version}",
                reason="NoKind",
            )
        return res

    # -- verbs -------------------------------------------------------------

    async def get(self, resource: Resource, *, name: str, namespace: str = "") -> Body | None:
        """The live object, or ``None`` when it does not exist."""
        subject = f"{resource.kind}/{namespace + '/' if namespace else ''}{name}"
        try:
            out: Body = await self._request(
                "get", "GET", resource.path(namespace=namespace, name=name), subject=subject
            )
        except NotFound:
            return None
        return out

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str = "",
        label_selector: str = "",
    ) -> tuple[list[Body], str]:
        """All objects of ``resource`` and the list's resourceVersion."""
        params = {"labelSelector": label_selector} if label_selector else {}
        items: list[Body] = []
        cont = ""
        while True:
            p = dict(params, limit="500")
            if cont:
                p["continue"] = cont
            doc = await self._request(
                "list",
                "GET",
                resource.path(namespace=namespace),
                params=p,
                subject=f"{resource.kind} list",
            )
            for item in doc.get("items", []):
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
                items.append(item)
            cont = doc.get("metadata", {}).get("continue", "")
            if not cont:
                return items, str(doc.get("metadata", {}).get("resourceVersion", ""))

    async def apply(
        self,
        body: Body,
        *,
        force: bool = False,
        dry_run: bool = False,
        field_manager: str = FIELD_MANAGER,
    ) -> Body:
        """Server-side apply ``body``; returns the object the server holds (or would hold)."""
        res = await self._resource_of(body)
        ref = ObjectRef.of(body)
        params = {"fieldManager": field_manager}
        if force:
            params["force"] = "true"
        if dry_run:
            params["dryRun"] = "All"
        out: Body = await self._request(
            "patch-dry-run" if dry_run else "patch",
            "PATCH",
            res.path(namespace=ref.namespace, name=ref.name),
            subject=str(ref),
            params=params,
            body=body,
            content_type="application/apply-patch+yaml",
        )
        return out

    async def create(self, body: Body, *, field_manager: str = FIELD_MANAGER) -> Body:
        res = await self._resource_of(body)
        ref = ObjectRef.of(body)
        out: Body = await self._request(
            "create",
            "POST",
            res.path(namespace=ref.namespace),
            subject=str(ref),
            params={"fieldManager": field_manager},
            body=body,
        )
        return out

    async def replace(self, body: Body, *, field_manager: str = FIELD_MANAGER) -> Body:
        res = await self._resource_of(body)
        ref = ObjectRef.of(body)
        out: Body = await self._request(
            "update",
            "PUT",
            res.path(namespace=ref.namespace, name=ref.name),
            subject=str(ref),
            params={"fieldManager": field_manager},
            body=body,
        )
        return out

    async def delete(
        self,
        resource: Resource,
        *,
        name: str,
        namespace: str = "",
        propagation: str = "Background",
        uid: str | None = None,
    ) -> bool:
        """Delete one object. ``False`` if it was already gone.

        With ``uid``, the delete only happens if the live object still has that
        uid, so a same-named object created since is never removed.
        """
        body: Body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if uid:
            body["preconditions"] = {"uid": uid}
        subject = f"{resource.kind}/{namespace + '/' if namespace else ''}{name}"
        try:
            await self._request(
                "delete",
                "DELETE",
                resource.path(namespace=namespace, name=name),
                subject=subject,
                body=body,
            )
        except NotFound:
            return False
        return True

    async def watch(
        self,
        resource: Resource,
        *,
        namespace: str = "",
        resource_version: str = "",
        timeout_seconds: int = 300,
        label_selector: str = "",
    ) -> AsyncIterator[WatchEvent]:
        """Stream changes after ``resource_version``; raises :class:`Gone` when it expired."""
        params = {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if resource_version:
            params["resourceVersion"] = resource_version
        if label_selector:
            params["labelSelector"] = label_selector
        self.stats.by_verb["watch"] += 1
        subject = f"{resource.kind} watch"
        try:
            async with self._watch_http.stream(
                "GET",
                resource.path(namespace=namespace),
                params=params,
                timeout=httpx.Timeout(timeout_seconds + 30.0, connect=10.0),
            ) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise from_status(resp.status_code, subject, resp.json())
                async for line in resp.aiter_lines():
                    if not line:
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        status = event.get("object", {})
                        raise from_status(int(status.get("code", 500)), subject, status)
                    yield WatchEvent(type=event["type"], object=event["object"])
        except httpx.HTTPError as e:
            raise Unavailable(f"{subject}: stream broke: {e}") from e

    async def ready(self) -> bool:
        """Whether the API server says it is ready (``/readyz``); ``False`` when unreachable."""
        self.stats.by_verb["get"] += 1
        try:
            resp = await self._http.get("/readyz", headers={"Accept": "text/plain"})
        except httpx.HTTPError:
            return False
        return resp.status_code == 200

    async def version(self) -> dict[str, Any]:
        out: dict[str, Any] = await self._request("get", "GET", "/version", subject="version")
        return out


__all__ = ["FIELD_MANAGER", "Kube", "KubeError", "RequestStats", "WatchEvent"]
