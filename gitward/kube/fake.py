"""An in-memory Kubernetes API server behind ``httpx.MockTransport``, for fast tests.

Why a fake *server* and not a fake client: the real :class:`~gitward.kube.Kube`
then runs in every unit test (URL building, discovery, error mapping, watch
decoding), so the core is tested against the same code it ships with, and
the fake is a structural match for nothing but the REST surface. The
contract tests (``tests/contract``) run the same cases on this fake and on the
real API server of the dev cluster; a behaviour the fake gets wrong fails there.

Implemented (what gitward's core relies on):

* discovery, aggregated (``/api``, ``/apis`` as ``APIGroupDiscoveryList``) or
  per group version (``aggregated=False``); a CRD that is created adds its
  kinds, and is ``Established`` at once;
* GET, LIST (``resourceVersion`` of the list, ``labelSelector`` with ``=``,
  ``!=``, ``key`` and ``!key``, ``limit``/``continue``), ``/version``, ``/readyz``;
* server-side apply (``PATCH application/apply-patch+yaml``): structured merge,
  ``managedFields`` per field manager and operation with correct ``fieldsV1``
  sets (see :mod:`gitward.kube._fake_fields`), conflicts (409 with
  ``FieldManagerConflict`` causes) on fields another manager holds with another
  value unless ``force``, same-value fields shared, fields a manager stops
  applying removed unless someone else holds them, ``dryRun=All``; a no-op apply
  keeps ``resourceVersion``;
* create (POST, ``generateName``, 409 AlreadyExists), replace (PUT, 409 on a stale
  ``resourceVersion``), both recorded as ``Update`` managers that take the fields
  they change; delete with ``uid``/``resourceVersion`` preconditions (409) and 404s;
  deleting a Namespace deletes what is in it; a namespaced write into a missing
  namespace is 404;
* ``uid``, ``resourceVersion`` (one counter for the whole server),
  ``generation``, ``creationTimestamp``;
* WATCH streams: events after a ``resourceVersion`` (all objects as ADDED when
  none is given), per namespace and label selector, ending after
  ``timeoutSeconds``; :meth:`FakeApiServer.compact` makes older versions 410 Gone;
* what controllers would write: :meth:`FakeApiServer.set_status`;
* faults for tests: :meth:`FakeApiServer.refuse` (an error status for matching
  requests), :meth:`FakeApiServer.crash` (the process "dies" before or after a
  matching request is handled) and :attr:`FakeApiServer.unavailable` (503).

Not implemented: defaulting, validation (beyond a name), admission and
webhooks, authentication and RBAC (impersonation headers are recorded on each
:class:`Call`, never checked), status subresources, graceful deletion,
finalizers and garbage collection (``ownerReferences``), a Namespace's
Terminating phase, JSON/merge/strategic patches, bookmarks, field selectors,
and OpenAPI-driven list types (list types are known by field name).
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import ssl
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import yaml

from gitward.kube import _fake_fields as ff
from gitward.kube._fake_http import (
    conflict,
    discovery,
    not_found,
    reason,
    selected,
    status,
    status_body,
    watch_line,
)
from gitward.kube.client import Kube
from gitward.kube.discovery import Resource
from gitward.kube.kubeconfig import KubeConfig
from gitward.objects import Body


def _r(group: str, version: str, kind: str, plural: str, *, namespaced: bool = True) -> Resource:
    verbs = frozenset({"create", "delete", "get", "list", "patch", "update", "watch"})
    return Resource(group, version, kind, plural, namespaced, verbs)


DEFAULT_RESOURCES: tuple[Resource, ...] = (
    _r("", "v1", "Namespace", "namespaces", namespaced=False),
    _r("", "v1", "ConfigMap", "configmaps"),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "Service", "services"),
    _r("", "v1", "ServiceAccount", "serviceaccounts"),
    _r("", "v1", "Pod", "pods"),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    _r("", "v1", "Event", "events"),
    _r("apps", "v1", "Deployment", "deployments"),
    _r("apps", "v1", "StatefulSet", "statefulsets"),
    _r("apps", "v1", "DaemonSet", "daemonsets"),
    _r("apps", "v1", "ReplicaSet", "replicasets"),
    _r("batch", "v1", "Job", "jobs"),
    _r("batch", "v1", "CronJob", "cronjobs"),
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses"),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    _r(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
    ),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
    ),
)

_Key = tuple[str, str, str, str]


class _FakeConfig(KubeConfig):
    """No TLS to set up: the mock transport never opens a connection, and loading the
    system's CA bundle would cost each test tens of milliseconds."""

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # group, plural, namespace, name


class SimulatedCrash(Exception):
    """Raised out of the client by :meth:`FakeApiServer.crash`: the process died here."""


@dataclass(frozen=True)
class Call:
    """One request the fake served, for tests that assert what was sent and in what order."""

    verb: str  # get, list, watch, create, update, patch, delete, discovery, other
    method: str
    path: str
    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    field_manager: str = ""
    dry_run: bool = False
    force: bool = False
    user: str = ""  # Impersonate-User, if any


@dataclass
class _Fault:
    match: Callable[[Call], bool]
    times: int
    status: int = 0
    message: str = ""
    crash_after: bool | None = None


@dataclass
class _Event:
    rv: int
    type: str
    resource: Resource
    object: Body


@dataclass
class FakeApiServer:
    """The API server's REST surface, in memory; pass it to ``httpx.MockTransport``."""

    resources: Iterable[Resource] = DEFAULT_RESOURCES
    aggregated: bool = True
    namespaces: Iterable[str] = ("default",)
    calls: list[Call] = field(default_factory=list)
    unavailable: bool = False  # every request answers 503 while set
    _objects: dict[_Key, Body] = field(default_factory=dict)
    _served: dict[tuple[str, str], Resource] = field(default_factory=dict)  # (group, plural)
    _events: list[_Event] = field(default_factory=list)
    _compacted: int = 0
    _rv: int = 1
    _faults: list[_Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        for r in self.resources:
            self._served[(r.group, r.plural)] = r
        for ns in self.namespaces:
            self._store(self._served[("", "namespaces")], _namespace(ns), event=False)

    # -- test controls ---------------------------------------------------------

    def kube(self, *, timeout: float = 30.0) -> Kube:
        """The real client, talking to this server."""
        return Kube(
            _FakeConfig(server="https://fake-apiserver.invalid"),
            timeout=timeout,
            transport=httpx.MockTransport(self.handle),
        )

    def refuse(
        self, match: Callable[[Call], bool], *, status: int, message: str = "", times: int = 1
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` instead of serving them."""
        self._faults.append(_Fault(match, times, status=status, message=message or "refused"))

    def crash(self, match: Callable[[Call], bool], *, after: bool = True) -> None:
        """Raise :class:`SimulatedCrash` out of the next matching request, ``after`` it was
        carried out (the write happened, the answer never arrived) or before."""
        self._faults.append(_Fault(match, 1, crash_after=after))

    def compact(self) -> None:
        """Forget the event history: a watch from any version seen so far gets 410 Gone."""
        self._compacted = self._rv
        self._events.clear()

    def stored(self, api_version: str, kind: str, name: str, namespace: str = "") -> Body | None:
        """The object as stored, read without a request (so it shows in no :attr:`calls`)."""
        group = api_version.split("/", 1)[0] if "/" in api_version else ""
        res = next((r for r in self._served.values() if (r.group, r.kind) == (group, kind)), None)
        if res is None:
            return None
        found = self._objects.get((group, res.plural, namespace if res.namespaced else "", name))
        return copy.deepcopy(found) if found is not None else None

    def set_status(
        self, api_version: str, kind: str, name: str, namespace: str, status: Body
    ) -> None:
        """Write ``status`` as the object's controller would: the fake runs no controllers,
        so a test that needs a Deployment to become available says so here."""
        live = self.stored(api_version, kind, name, namespace)
        assert live is not None, f"{kind}/{namespace}/{name}: no such object"
        res = next(
            r for r in self._served.values() if (r.kind, r.api_version) == (kind, api_version)
        )
        previous = self._objects[(res.group, res.plural, namespace if res.namespaced else "", name)]
        self._store(res, {**live, "status": status}, previous=previous)

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    # -- the transport -----------------------------------------------------------

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        params = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        route = self._route(path)
        call = self._call(request, path, params, route)
        self.calls.append(call)
        fault = next((f for f in self._faults if f.times > 0 and f.match(call)), None)
        if fault is not None:
            fault.times -= 1
            if fault.crash_after is False:
                raise SimulatedCrash(f"crashed before {call.method} {path}")
            if fault.crash_after is None:
                return status(fault.status, reason(fault.status), fault.message)
        if self.unavailable:
            return status(503, "ServiceUnavailable", "the fake API server is down")
        response = self._serve(request, path, params, route)
        if fault is not None and fault.crash_after:
            raise SimulatedCrash(f"crashed after {call.method} {path}")
        return response

    def _call(
        self,
        request: httpx.Request,
        path: str,
        params: dict[str, str],
        route: tuple[Resource, str, str] | None,
    ) -> Call:
        verb = "other"
        if path in ("/api", "/apis") or (route is None and path.startswith(("/api/", "/apis/"))):
            verb = "discovery"
        elif route is not None:
            _, _, name = route
            verb = {
                "GET": "watch"
                if params.get("watch") in ("1", "true")
                else ("get" if name else "list"),
                "POST": "create",
                "PUT": "update",
                "PATCH": "patch",
                "DELETE": "delete",
            }.get(request.method, "other")
        body_name = ""
        if request.method in ("POST",) and request.content:
            body_name = str((json.loads(request.content).get("metadata") or {}).get("name", ""))
        return Call(
            verb=verb,
            method=request.method,
            path=path,
            group=route[0].group if route else "",
            kind=route[0].kind if route else "",
            namespace=route[1] if route else "",
            name=(route[2] if route else "") or body_name,
            field_manager=params.get("fieldManager", ""),
            dry_run=params.get("dryRun") == "All",
            force=params.get("force") == "true",
            user=request.headers.get("Impersonate-User", ""),
        )

    def _route(self, path: str) -> tuple[Resource, str, str] | None:
        """(resource, namespace, name) of an object or collection path."""
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2:
            return None  # discovery of a group version, or a subresource
        res = self._served.get((group, rest[0]))
        if res is None or res.version != version or (namespace and not res.namespaced):
            return None
        return res, namespace, rest[1] if len(rest) == 2 else ""

    def _serve(
        self,
        request: httpx.Request,
        path: str,
        params: dict[str, str],
        route: tuple[Resource, str, str] | None,
    ) -> httpx.Response:
        if path == "/readyz":
            return httpx.Response(200, text="ok")
        if path == "/version":
            return httpx.Response(200, json={"major": "1", "minor": "33", "gitVersion": "fake"})
        if route is None:
            return discovery(self._served.values(), request, path, aggregated=self.aggregated)
        res, namespace, name = route
        body: Body = json.loads(request.content) if request.content else {}
        if request.method == "GET" and params.get("watch") in ("1", "true"):
            return self._watch(res, namespace, params)
        if request.method == "GET":
            return self._get(res, namespace, name) if name else self._list(res, namespace, params)
        if request.method == "DELETE" and name:
            return self._delete(res, namespace, name, body)
        if request.method == "POST" and not name:
            return self._create(res, namespace, body, params)
        if request.method == "PUT" and name:
            return self._replace(res, namespace, name, body, params)
        if request.method == "PATCH" and name:
            if request.headers.get("Content-Type") != "application/apply-patch+yaml":
                return status(415, "UnsupportedMediaType", "the fake serves apply patches only")
            config = yaml.safe_load(request.content)
            return self._apply(res, namespace, name, config, params)
        return status(405, "MethodNotAllowed", f"{request.method} {path} is not served")

    # -- discovery ---------------------------------------------------------------

    # -- reads -------------------------------------------------------------------

    def _get(self, res: Resource, namespace: str, name: str) -> httpx.Response:
        found = self._objects.get((res.group, res.plural, namespace, name))
        if found is None:
            return not_found(res, name)
        return httpx.Response(200, json=found)

    def _list(self, res: Resource, namespace: str, params: dict[str, str]) -> httpx.Response:
        selector = params.get("labelSelector", "")
        items = [
            {k: v for k, v in o.items() if k not in ("apiVersion", "kind")}
            for (g, p, ns, _), o in sorted(self._objects.items())
            if (g, p) == (res.group, res.plural)
            and (not namespace or ns == namespace)
            and selected(o, selector)
        ]
        start = int(params.get("continue") or 0)
        limit = int(params.get("limit") or 0) or len(items) or 1
        page = items[start : start + limit]
        more = start + limit < len(items)
        return httpx.Response(
            200,
            json={
                "kind": f"{res.kind}List",
                "apiVersion": res.api_version,
                "metadata": {
                    "resourceVersion": str(self._rv),
                    **({"continue": str(start + limit)} if more else {}),
                },
                "items": page,
            },
        )

    def _watch(self, res: Resource, namespace: str, params: dict[str, str]) -> httpx.Response:
        since = params.get("resourceVersion", "")
        selector = params.get("labelSelector", "")
        timeout = float(params.get("timeoutSeconds") or 300)
        if since and since != "0" and int(since) < self._compacted:
            gone = {
                "type": "ERROR",
                "object": {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "Expired",
                    "code": 410,
                    "message": f"too old resource version: {since} ({self._compacted})",
                },
            }
            return httpx.Response(200, content=json.dumps(gone).encode() + b"\n")
        initial: list[Body] = []
        if not since or since == "0":
            initial = [
                o
                for (g, p, ns, _), o in sorted(self._objects.items())
                if (g, p) == (res.group, res.plural)
                and (not namespace or ns == namespace)
                and selected(o, selector)
            ]
        after = int(since) if since and since != "0" else self._rv

        def wanted(e: _Event) -> bool:
            meta = e.object.get("metadata") or {}
            return (
                e.rv > after
                and (e.resource.group, e.resource.plural) == (res.group, res.plural)
                and (not namespace or meta.get("namespace") == namespace)
                and selected(e.object, selector)
            )

        async def stream() -> AsyncIterator[bytes]:
            for o in initial:
                yield watch_line("ADDED", o)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            seen = after
            while loop.time() < deadline:
                for e in [e for e in self._events if e.rv > seen]:
                    seen = e.rv
                    if wanted(e):
                        yield watch_line(e.type, e.object)
                # Polling keeps the fake free of any one event loop (tests may run several).
                await asyncio.sleep(0.005)

        return httpx.Response(200, content=stream())

    # -- writes ------------------------------------------------------------------

    def _namespace_missing(self, res: Resource, namespace: str) -> httpx.Response | None:
        if res.namespaced and ("", "namespaces", "", namespace) not in self._objects:
            return status(404, "NotFound", f'namespaces "{namespace}" not found', kind="namespaces")
        return None

    def _create(
        self, res: Resource, namespace: str, body: Body, params: dict[str, str]
    ) -> httpx.Response:
        if res.namespaced and not namespace:
            return status(404, "NotFound", "a namespaced object needs a namespace in its path")
        missing = self._namespace_missing(res, namespace)
        if missing is not None:
            return missing
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        name = str(meta.get("name") or "")
        if not name:
            return status(
                422, "Invalid", f"{res.kind} is invalid: metadata.name: Required value", kind=res
            )
        if (res.group, res.plural, namespace, name) in self._objects:
            return status(
                409, "AlreadyExists", f'{res.plural} "{name}" already exists', kind=res, name=name
            )
        manager = params.get("fieldManager") or "unknown"
        obj = _fresh(res, namespace, name, body)
        ff.own_update(obj, None, manager, res.api_version)
        if params.get("dryRun") == "All":
            return httpx.Response(201, json=obj)
        return httpx.Response(201, json=self._store(res, obj))

    def _replace(
        self, res: Resource, namespace: str, name: str, body: Body, params: dict[str, str]
    ) -> httpx.Response:
        live = self._objects.get((res.group, res.plural, namespace, name))
        if live is None:
            return not_found(res, name)
        meta = body.setdefault("metadata", {})
        if meta.get("resourceVersion") and meta["resourceVersion"] != live["metadata"].get(
            "resourceVersion"
        ):
            return status(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.plural} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                kind=res,
                name=name,
            )
        obj = _fresh(res, namespace, name, body, like=live)
        ff.own_update(obj, live, params.get("fieldManager") or "unknown", res.api_version)
        if params.get("dryRun") == "All":
            return httpx.Response(200, json=obj)
        return httpx.Response(200, json=self._store(res, obj, previous=live))

    def _apply(
        self, res: Resource, namespace: str, name: str, config: Any, params: dict[str, str]
    ) -> httpx.Response:
        manager = params.get("fieldManager", "")
        if not manager:
            return status(422, "Invalid", "PATCH with apply requires a fieldManager")
        if not isinstance(config, dict):
            return status(400, "BadRequest", "the apply configuration is not an object")
        if res.namespaced:
            missing = self._namespace_missing(res, namespace)
            if missing is not None:
                return missing
        cmeta = config.get("metadata") or {}
        if cmeta.get("name", name) != name:
            return status(400, "BadRequest", "the name in the body does not match the URL")
        live = self._objects.get((res.group, res.plural, namespace, name))
        new_paths = ff.paths_of(config)
        sets = ff.manager_sets(live) if live else {}
        old_paths = sets.get((manager, "Apply"), set())
        current = live or _fresh(res, namespace, name, {})
        conflicts: dict[tuple[str, str], list[ff.Path]] = {}
        for path in sorted(new_paths):
            if not ff.is_leaf(path):
                continue
            before = ff.value_at(current, path)
            if before is ff.MISSING or before == ff.value_at(config, path):
                continue
            for owner, owned in sets.items():
                if owner != (manager, "Apply") and path in owned:
                    conflicts.setdefault(owner, []).append(path)
        force = params.get("force") == "true"
        if conflicts and not force:
            return conflict(res, name, conflicts)
        for owner, paths in conflicts.items():
            sets[owner] = sets[owner] - set(paths)
        merged = ff.merge(current, {k: v for k, v in config.items() if k != "metadata"})
        mmeta = merged.setdefault("metadata", {})
        for key, value in cmeta.items():
            if key in ("labels", "annotations", "finalizers", "ownerReferences"):
                mmeta[key] = ff.merge(mmeta.get(key, ff.MISSING), value, key)
        others = set().union(*(p for o, p in sets.items() if o != (manager, "Apply")))
        for path in sorted(old_paths - new_paths, key=len, reverse=True):
            if not any(o[: len(path)] == path for o in others):
                ff.remove(merged, path)
        sets[(manager, "Apply")] = new_paths
        ff.set_managed(merged, sets, live, res.api_version)
        if live is not None and merged == live:
            return httpx.Response(200, json=live)  # nothing changed: no write, same version
        if params.get("dryRun") == "All":
            return httpx.Response(200 if live else 201, json=merged)
        return httpx.Response(200 if live else 201, json=self._store(res, merged, previous=live))

    def _delete(self, res: Resource, namespace: str, name: str, options: Body) -> httpx.Response:
        key = (res.group, res.plural, namespace, name)
        live = self._objects.get(key)
        if live is None:
            return not_found(res, name)
        pre = options.get("preconditions") or {}
        meta = live["metadata"]
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            return status(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.plural} "{name}": Precondition failed: '
                f"UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}",
                kind=res,
                name=name,
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            return status(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.plural} "{name}": Precondition failed: '
                f"ResourceVersion in precondition: {pre['resourceVersion']}, "
                f"ResourceVersion in object meta: {meta.get('resourceVersion')}",
                kind=res,
                name=name,
            )
        if options.get("dryRun") == ["All"]:
            return httpx.Response(200, json=live)
        if res.kind == "Namespace" and not res.group:
            for k in [k for k in self._objects if k[2] == name]:
                self._drop(k)
        self._drop(key)
        return httpx.Response(200, json=status_body(200, "", "", status="Success"))

    # -- storage -----------------------------------------------------------------

    def _store(
        self, res: Resource, obj: Body, *, previous: Body | None = None, event: bool = True
    ) -> Body:
        meta = obj["metadata"]
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        if previous is not None and _spec_of(previous) != _spec_of(obj):
            meta["generation"] = int(previous["metadata"].get("generation", 1)) + 1
        if res.kind == "CustomResourceDefinition":
            self._serve_crd(obj)
        key = (res.group, res.plural, meta.get("namespace", ""), meta["name"])
        self._objects[key] = obj
        if event:
            kind = "ADDED" if previous is None else "MODIFIED"
            self._events.append(_Event(self._rv, kind, res, copy.deepcopy(obj)))
        return copy.deepcopy(obj)

    def _drop(self, key: _Key) -> None:
        obj = self._objects.pop(key)
        res = self._served.get((key[0], key[1]))
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        if res is not None:
            self._events.append(_Event(self._rv, "DELETED", res, obj))

    def _serve_crd(self, crd: Body) -> None:
        """Serve the CRD's kind, and call it Established: nothing here is asynchronous."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
        storage = next((v for v in versions if v.get("storage")), versions[0] if versions else {})
        if names.get("plural") and names.get("kind") and storage:
            self._served[(str(spec.get("group", "")), names["plural"])] = _r(
                str(spec.get("group", "")),
                str(storage["name"]),
                str(names["kind"]),
                str(names["plural"]),
                namespaced=spec.get("scope") != "Cluster",
            )
        crd["status"] = {
            "conditions": [
                {"type": "NamesAccepted", "status": "True"},
                {"type": "Established", "status": "True"},
            ]
        }


# -- object bookkeeping ---------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _namespace(name: str) -> Body:
    return _fresh(_r("", "v1", "Namespace", "namespaces", namespaced=False), "", name, {})


def _fresh(
    res: Resource, namespace: str, name: str, body: Body, *, like: Body | None = None
) -> Body:
    """``body`` as a stored object: identity from the URL, bookkeeping from ``like`` or new."""
    obj = copy.deepcopy(body)
    obj["apiVersion"], obj["kind"] = res.api_version, res.kind
    meta = obj.setdefault("metadata", {})
    meta["name"] = name
    if res.namespaced:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    old = (like or {}).get("metadata") or {}
    meta["uid"] = old.get("uid") or str(uuid.uuid4())
    meta["creationTimestamp"] = old.get("creationTimestamp") or _now()
    meta["generation"] = old.get("generation", 1)
    meta.pop("resourceVersion", None)
    if old.get("resourceVersion"):
        meta["resourceVersion"] = old["resourceVersion"]
    meta["managedFields"] = copy.deepcopy(old.get("managedFields") or [])
    if res.kind == "Namespace" and not res.group:
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    return obj


def _spec_of(obj: Body) -> Body:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


__all__ = ["DEFAULT_RESOURCES", "Call", "FakeApiServer", "SimulatedCrash"]
