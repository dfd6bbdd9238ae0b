"""An in-memory Kubernetes API server behind ``httpx.MockTransport``, for fast tests.

Why a fake *server* and not a fake client: the real :class:`~gitward.kube.Kube`
then runs in every unit test (URL building, discovery, error mapping, watch
decoding), so the core is tested against the same code it ships with, and
the fake is a structural match for nothing but the REST surface. The
contract tests (``tests/contract``) run the same cases on this fake and on the
real API server of the dev cluster; a behaviour the fake gets wrong fails there.

This module routes requests and holds the test controls; the rest is one
private module per job: :mod:`~gitward.kube._fake_store` (objects, versions,
events), :mod:`~gitward.kube._fake_reads` and :mod:`~gitward.kube._fake_writes`
(the verbs), :mod:`~gitward.kube._fake_fields` (field sets and merge) and
:mod:`~gitward.kube._fake_http` (what goes over the wire).

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

import copy
import itertools
import json
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
import yaml

from gitward.kube import _fake_reads as reads
from gitward.kube import _fake_writes as writes
from gitward.kube._fake_http import discovery, reason, status
from gitward.kube._fake_store import Store, served
from gitward.kube.client import Kube
from gitward.kube.discovery import Resource
from gitward.kube.kubeconfig import KubeConfig
from gitward.objects import Body

DEFAULT_RESOURCES: tuple[Resource, ...] = (
    served("", "v1", "Namespace", "namespaces", namespaced=False),
    served("", "v1", "ConfigMap", "configmaps"),
    served("", "v1", "Secret", "secrets"),
    served("", "v1", "Service", "services"),
    served("", "v1", "ServiceAccount", "serviceaccounts"),
    served("", "v1", "Pod", "pods"),
    served("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    served("", "v1", "Event", "events"),
    served("apps", "v1", "Deployment", "deployments"),
    served("apps", "v1", "StatefulSet", "statefulsets"),
    served("apps", "v1", "DaemonSet", "daemonsets"),
    served("apps", "v1", "ReplicaSet", "replicasets"),
    served("batch", "v1", "Job", "jobs"),
    served("batch", "v1", "CronJob", "cronjobs"),
    served("coordination.k8s.io", "v1", "Lease", "leases"),
    served("networking.k8s.io", "v1", "Ingress", "ingresses"),
    served("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    served("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    served("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    served(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
    ),
    served(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
    ),
)


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


# Each fake server has an address of its own, as two real clusters would: what a
# client learns of one (see gitward.record.store) must not hold for another.
_SERVERS = itertools.count(1)


@dataclass
class FakeApiServer:
    """The API server's REST surface, in memory; pass it to ``httpx.MockTransport``."""

    resources: Iterable[Resource] = DEFAULT_RESOURCES
    aggregated: bool = True
    namespaces: Iterable[str] = ("default",)
    calls: list[Call] = field(default_factory=list)
    unavailable: bool = False  # every request answers 503 while set
    _store: Store = field(default_factory=Store)
    _faults: list[_Fault] = field(default_factory=list)
    address: str = field(default_factory=lambda: f"https://fake-apiserver-{next(_SERVERS)}.invalid")

    def __post_init__(self) -> None:
        for r in self.resources:
            self._store.resources[(r.group, r.plural)] = r
        for ns in self.namespaces:
            self._store.add_namespace(ns)

    # -- test controls ---------------------------------------------------------

    def kube(self, *, timeout: float = 30.0) -> Kube:
        """The real client, talking to this server."""
        return Kube(
            _FakeConfig(server=self.address),
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
        self._store.compacted = self._store.rv
        self._store.events.clear()

    def stored(self, api_version: str, kind: str, name: str, namespace: str = "") -> Body | None:
        """The object as stored, read without a request (so it shows in no :attr:`calls`)."""
        found = self._find(api_version, kind, name, namespace)
        return copy.deepcopy(found[1]) if found is not None else None

    def set_status(
        self, api_version: str, kind: str, name: str, namespace: str, status: Body
    ) -> None:
        """Write ``status`` as the object's controller would: the fake runs no controllers,
        so a test that needs a Deployment to become available says so here."""
        found = self._find(api_version, kind, name, namespace)
        assert found is not None, f"{kind}/{namespace}/{name}: no such object"
        res, previous = found
        self._store.put(res, {**copy.deepcopy(previous), "status": status}, previous=previous)

    @property
    def resource_version(self) -> str:
        return str(self._store.rv)

    def _find(
        self, api_version: str, kind: str, name: str, namespace: str
    ) -> tuple[Resource, Body] | None:
        group = api_version.split("/", 1)[0] if "/" in api_version else ""
        res = next(
            (r for r in self._store.resources.values() if (r.group, r.kind) == (group, kind)),
            None,
        )
        if res is None:
            return None
        found = self._store.get(res, namespace if res.namespaced else "", name)
        return (res, found) if found is not None else None

    # -- the transport -----------------------------------------------------------

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        params = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        req = _Request(request, path, params, self._route(path))
        call = _call(req)
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
        response = self._serve(req)
        if fault is not None and fault.crash_after:
            raise SimulatedCrash(f"crashed after {call.method} {path}")
        return response

    def _route(self, path: str) -> _Route | None:
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
        res = self._store.resources.get((group, rest[0]))
        if res is None or res.version != version or (namespace and not res.namespaced):
            return None
        return res, namespace, rest[1] if len(rest) == 2 else ""

    def _serve(self, req: _Request) -> httpx.Response:
        request, path, params, store = req.request, req.path, req.params, self._store
        if path == "/readyz":
            return httpx.Response(200, text="ok")
        if path == "/version":
            return httpx.Response(200, json={"major": "1", "minor": "33", "gitVersion": "fake"})
        if req.route is None:
            return discovery(store.resources.values(), request, path, aggregated=self.aggregated)
        res, namespace, name = req.route
        body: Body = json.loads(request.content) if request.content else {}
        if req.watching:
            return reads.watch(store, res, namespace, params)
        if request.method == "GET" and name:
            return reads.get_one(store, res, namespace, name)
        if request.method == "GET":
            return reads.list_page(store, res, namespace, params)
        if request.method == "DELETE" and name:
            return writes.delete(store, res, namespace, name, body)
        if request.method == "POST" and not name:
            return writes.create(store, res, namespace, body, params)
        if request.method == "PUT" and name:
            return writes.replace(store, res, namespace, name, body, params)
        if request.method == "PATCH" and name:
            if request.headers.get("Content-Type") != "application/apply-patch+yaml":
                return status(415, "UnsupportedMediaType", "the fake serves apply patches only")
            config = yaml.safe_load(request.content)
            return writes.apply(store, res, namespace, name, config, params)
        return status(405, "MethodNotAllowed", f"{request.method} {path} is not served")


_Route = tuple[Resource, str, str]  # resource, namespace, name ("" for a collection)


@dataclass(frozen=True)
class _Request:
    """A request as the fake reads it: its query as a dict, its path routed."""

    request: httpx.Request
    path: str
    params: dict[str, str]
    route: _Route | None

    @property
    def watching(self) -> bool:
        return self.request.method == "GET" and self.params.get("watch") in ("1", "true")


def _call(req: _Request) -> Call:
    """What a test sees of a request in :attr:`FakeApiServer.calls`."""
    request, path, params, route = req.request, req.path, req.params, req.route
    verb = "other"
    if path in ("/api", "/apis") or (route is None and path.startswith(("/api/", "/apis/"))):
        verb = "discovery"
    elif route is not None and req.watching:
        verb = "watch"
    elif route is not None:
        verb = {
            "GET": "get" if route[2] else "list",
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
        }.get(request.method, "other")
    body_name = ""
    if request.method == "POST" and request.content:
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


__all__ = ["DEFAULT_RESOURCES", "Call", "FakeApiServer", "SimulatedCrash"]
