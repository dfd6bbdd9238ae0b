"""An asynchronous client for exactly the API calls gitward makes.

Why not lightkube or the official client: gitward handles *unstructured*
objects of any kind (whatever a chart renders, CRDs included), so typed models
buy nothing and cost memory and import time; what it needs is discovery-based
REST mapping, server-side apply with dry-run, list/watch with resourceVersion
resume, and a count of every request by verb. That is a few hundred lines over
aiohttp, whose compiled HTTP parser keeps the many short requests of a sync cheap.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitward.kube._transport import Transport
from gitward.kube.discovery import (
    AGGREGATED_DISCOVERY,
    Resource,
    RestMapper,
    add_aggregated,
    add_group_version,
)
from gitward.kube.errors import KubeError, NotFound, from_status
from gitward.kube.kubeconfig import KubeConfig, load_kubeconfig
from gitward.kube.openapi import OpenAPIDocuments, Schemas, default_cache_dir
from gitward.objects import FIELD_MANAGER, Body, ObjectRef, group_of

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: Body


class Kube:
    """One API server. Use as ``async with Kube.connect() as kube: ...``."""

    def __init__(
        self,
        config: KubeConfig,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "gitward",
        openapi_cache: Path | None = None,
    ) -> None:
        """``transport`` replaces the network (``httpx.MockTransport`` in unit tests);
        ``user_agent`` tells this client apart in the API server's audit log;
        ``openapi_cache``: a directory that keeps the server's schemas across processes."""
        self.config = config
        self._opened_with = (timeout, transport, user_agent)
        self._wire = Transport(config, timeout=timeout, transport=transport, user_agent=user_agent)
        self.stats = self._wire.stats
        self._mapper = RestMapper()
        self._discovered = False
        # Impersonation: the client gitward's own identity is, and the headers to act as another.
        self._base = self
        self._impersonation: tuple[tuple[str, str], ...] = ()
        self._discovery_lock = asyncio.Lock()
        self._openapi = OpenAPIDocuments(self._fetch_openapi, cache_dir=openapi_cache)

    @classmethod
    def connect(
        cls,
        config: KubeConfig | None = None,
        *,
        timeout: float = 30.0,
        user_agent: str = "gitward",
    ) -> Kube:
        return cls(
            config or load_kubeconfig(),
            timeout=timeout,
            user_agent=user_agent,
            openapi_cache=default_cache_dir(),
        )

    def separate(self) -> Kube:
        """A client of the same server, as gitward itself, on connections of its own.

        For requests that must not queue behind this client's bursts: a sync may
        have hundreds of requests in flight, and a Lease renewal stuck behind
        them for a lease term would cost the lease. Close it with :meth:`aclose`."""
        timeout, transport, user_agent = self._opened_with
        return Kube(self.config, timeout=timeout, transport=transport, user_agent=user_agent)

    async def __aenter__(self) -> Kube:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._base is not self:
            return  # the connections are the base client's, closed with it
        await self._wire.aclose()

    # -- identity ----------------------------------------------------------

    def impersonating(self, *, user: str, groups: Sequence[str] = ()) -> Kube:
        """This client acting as ``user`` in ``groups``, through the API's impersonation headers.

        The server authorizes every request of the returned client as that user,
        so it can do exactly what the user's RBAC allows; gitward's own identity
        needs only the ``impersonate`` verb on the user and groups. The returned
        client shares this one's connections, request counts and discovery (what
        the server serves is the same for every identity, so it is not asked again
        per user), and is closed with it: closing it alone does nothing.
        """
        child = copy.copy(self)
        child._base = self._base
        child._impersonation = (
            ("Impersonate-User", user),
            *(("Impersonate-Group", g) for g in groups),
        )
        return child

    @property
    def unimpersonated(self) -> Kube:
        """This client as gitward's own identity (itself, unless it impersonates someone)."""
        return self._base

    @property
    def impersonated_user(self) -> str:
        """The user this client acts as; ``""`` for gitward's own identity."""
        return next((v for k, v in self._impersonation if k == "Impersonate-User"), "")

    @property
    def mapper(self) -> RestMapper:
        return self._base._mapper

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
        return await self._wire.request(
            verb,
            method,
            path,
            subject=subject,
            headers=self._impersonation,
            params=params,
            body=body,
            content_type=content_type,
            accept=accept,
        )

    # -- discovery ---------------------------------------------------------

    async def discover(self, *, refresh: bool = False) -> RestMapper:
        if self._base is not self:
            return await self._base.discover(refresh=refresh)
        async with self._discovery_lock:
            if self._discovered and not refresh:
                return self._mapper
            mapper = await self._discover_aggregated() or await self._discover_per_group()
            self._mapper = mapper
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
                accept=AGGREGATED_DISCOVERY,
            )
            if not add_aggregated(mapper, doc):
                return None
        return mapper

    async def _discover_per_group(self) -> RestMapper:
        """The pre-1.30 way: one request per group version."""
        mapper = RestMapper()
        core = await self._request("discovery", "GET", "/api/v1", subject="discovery /api/v1")
        add_group_version(mapper, "", "v1", core, preferred=True)
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
            add_group_version(mapper, gr, ver, doc, preferred=pref)
        return mapper

    async def openapi_schemas(self, api_version: str) -> Schemas | None:
        """The server's OpenAPI v3 schemas of ``api_version`` (``components.schemas``),
        fetched once per content (see :mod:`gitward.kube.openapi`); ``None`` when it
        publishes none for it."""
        return await self._base._openapi.schemas(api_version)

    async def _fetch_openapi(self, path: str, subject: str) -> Any:
        return await self._request("openapi", "GET", path, subject=subject)

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

    async def pages(
        self,
        resource: Resource,
        *,
        namespace: str = "",
        label_selector: str = "",
    ) -> AsyncIterator[tuple[list[Body], str]]:
        """The objects of ``resource`` a page at a time, each with the list's
        resourceVersion (the same on every page of one list). A caller that is done
        with each page before the next holds one page, not the whole list: a
        cluster-wide list of a busy kind can be tens of megabytes."""
        params = {"labelSelector": label_selector} if label_selector else {}
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
            items: list[Body] = doc.get("items") or []
            for item in items:
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
            meta = doc.get("metadata") or {}
            yield items, str(meta.get("resourceVersion", ""))
            cont = meta.get("continue", "")
            if not cont:
                return

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str = "",
        label_selector: str = "",
    ) -> tuple[list[Body], str]:
        """All objects of ``resource`` and the list's resourceVersion."""
        items: list[Body] = []
        version = ""
        async for page, at in self.pages(
            resource, namespace=namespace, label_selector=label_selector
        ):
            items.extend(page)
            version = at
        return items, version

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

    async def apply_new(
        self, body: Body, *, force: bool = False, field_manager: str = FIELD_MANAGER
    ) -> tuple[Body, bool]:
        """Server-side apply ``body``, expected to be new: the object the server holds,
        and whether this apply created it (201 Created), or found it made meanwhile."""
        res = await self._resource_of(body)
        ref = ObjectRef.of(body)
        params = {"fieldManager": field_manager}
        if force:
            params["force"] = "true"
        code, out = await self._wire.exchange(
            "patch",
            "PATCH",
            res.path(namespace=ref.namespace, name=ref.name),
            subject=str(ref),
            headers=self._impersonation,
            params=params,
            body=body,
            content_type="application/apply-patch+yaml",
        )
        return out, code == 201

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
        subject = f"{resource.kind} watch"
        async with self._wire.lines(
            resource.path(namespace=namespace),
            subject=subject,
            params=params,
            headers=self._impersonation,
            timeout=timeout_seconds + 30.0,
        ) as lines:
            async for line in lines:
                if not line:
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object", {})
                    raise from_status(int(status.get("code", 500)), subject, status)
                yield WatchEvent(type=event["type"], object=event["object"])

    async def ready(self) -> bool:
        """Whether the API server says it is ready (``/readyz``); ``False`` when unreachable."""
        return await self._wire.ready()

    async def version(self) -> dict[str, Any]:
        out: dict[str, Any] = await self._request("get", "GET", "/version", subject="version")
        return out


__all__ = ["FIELD_MANAGER", "Kube", "KubeError", "WatchEvent"]
