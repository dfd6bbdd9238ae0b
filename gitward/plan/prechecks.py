"""Which new objects a sync may check against the server's schema instead of a dry-run.

A sync checks every object before its first write (all or nothing). An object
that exists, or may be refused for reasons a schema cannot show, is checked by
a server-side dry-run. A *new* object of a built-in kind is checked on the
client against the API server's own OpenAPI v3 schema (:mod:`gitward.plan.schemas`),
which saves one request per object: half the requests of a first install.

The client check is used only where nothing but the kind's structure and its
built-in validation can refuse the object, so an object goes to the server
instead when:

* the plan shows diffs (a dry run, a preview): they should show the server's
  defaults;
* the client impersonates the app's account: only the server knows its RBAC;
* its group is not one of :data:`BUILT_IN_GROUPS` (a custom resource's schema
  has patterns, bounds and CEL rules only the server evaluates), or it is a
  Pod (Pod Security and other admission act on Pods alone), or it is written
  whole (``Replace=true``: a create, whose decoding differs from an apply's);
* an admission webhook or a ValidatingAdmissionPolicy may act on its kind, or
  its namespace has a ResourceQuota or a LimitRange (read only when there are
  new objects at all, and at most every few seconds per client; unreadable
  means "may");
* the server publishes no schema for its kind.

* the app has records already (an installed app), has hooks, or spreads its
  objects over more than one wave (see below).

What the schema cannot show is the kind's own validation in the API server (a
Deployment's selector that does not match its template, a container without
an image, an invalid name). The server judges that when it creates the
object, so these objects are created *first*, before any other write of the
sync, and if any is refused every one this sync created is deleted again
(:mod:`gitward.apply.provisional`). Deleting what did not exist before restores
the cluster exactly only when nothing else was written yet and the app kept no
records: hence a first install without hooks or waves, whose order the
creates-first step cannot break.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitward.kube import Kube, KubeError
from gitward.objects import group_of
from gitward.plan.preparing import Prepared
from gitward.plan.schemas import SchemaCheck

# The API server's own groups whose objects are applied in bulk; rbac is not
# among them (a Role granting what the writer lacks is refused as escalation).
BUILT_IN_GROUPS = frozenset(
    {
        "",
        "apps",
        "autoscaling",
        "batch",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "networking.k8s.io",
        "policy",
        "scheduling.k8s.io",
        "storage.k8s.io",
    }
)
_SERVER_ONLY_KINDS = frozenset({("", "Pod")})
_ADMISSION = "admissionregistration.k8s.io"

# How long a client's reading of the cluster's admission stays good for its
# next sync. A controller cold-starting a thousand apps on one client would
# otherwise send five LISTs per app; a reading a few seconds stale cannot
# break all or nothing, because a create that admission refuses is undone
# like any other (:mod:`gitward.apply.provisional`). Kept per client, so a
# new client (each command, each test) reads afresh.
ADMISSION_TTL = 5.0
_admission_read: weakref.WeakKeyDictionary[Kube, tuple[float, Admission]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class Admission:
    """What in the cluster may refuse a create that its schema allows."""

    rules: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()  # (groups, resources)
    namespaces: frozenset[str] = frozenset()  # with a ResourceQuota or a LimitRange
    everything: bool = False  # could not be read: assume anything may be refused

    def may_refuse(self, p: Prepared) -> bool:
        if self.everything:
            return True
        if p.ref.namespace in self.namespaces:
            return True
        assert p.resource is not None
        return any(
            ("*" in groups or p.resource.group in groups)
            and ({"*", "*/*", p.resource.plural} & resources)
            for groups, resources in self.rules
        )


@dataclass
class Prechecks:
    """The schema checks by API version, for the objects that may use them."""

    checks: dict[str, SchemaCheck] = field(default_factory=dict)

    def check_for(self, p: Prepared) -> SchemaCheck | None:
        check = self.checks.get(p.manifest.api_version)
        if check is None or not check.knows(p.manifest.api_version, p.ref.kind):
            return None
        return check


def may_create_first(prepared: Sequence[Prepared], *, installed: bool) -> bool:
    """Whether this sync's new objects may be created before the server has judged
    them (see the module's docstring): a first install, no hooks, one wave."""
    if installed or any(p.is_hook for p in prepared):
        return False
    return len({p.key.wave for p in prepared}) <= 1


def may_precheck(p: Prepared) -> bool:
    """Whether ``p``'s kind and options allow a client check at all, were it new."""
    if p.resource is None or p.is_hook or p.directives.options.replace:
        return False
    group = group_of(p.manifest.api_version)
    return group in BUILT_IN_GROUPS and (group, p.ref.kind) not in _SERVER_ONLY_KINDS


async def prechecks(kube: Kube, new: Sequence[Prepared]) -> Prechecks:
    """The schema checks for ``new`` objects (absent from the cluster, :func:`may_precheck`);
    empty where the server must judge. Never raises: what cannot be read means dry-run."""
    if not new:
        return Prechecks()
    versions = sorted({p.manifest.api_version for p in new})
    try:
        admission, docs = await asyncio.gather(
            recent_admission(kube), asyncio.gather(*(kube.openapi_schemas(v) for v in versions))
        )
    except KubeError:
        return Prechecks()
    usable = {p.manifest.api_version for p in new if not admission.may_refuse(p)}
    return Prechecks(
        {v: _check_of(doc) for v, doc in zip(versions, docs, strict=True) if doc and v in usable}
    )


# The check of each schemas document the client keeps (by identity, the document
# held with it): built once, not for every sync of a thousand apps.
_checks: dict[int, tuple[Mapping[str, Any], SchemaCheck]] = {}


def _check_of(schemas: Mapping[str, Any]) -> SchemaCheck:
    kept = _checks.get(id(schemas))
    if kept is not None and kept[0] is schemas:
        return kept[1]
    if len(_checks) >= 32:
        _checks.clear()
    check = SchemaCheck(schemas)
    _checks[id(schemas)] = (schemas, check)
    return check


async def recent_admission(kube: Kube, *, ttl: float = ADMISSION_TTL) -> Admission:
    """:func:`read_admission`, or this client's reading of under ``ttl`` seconds
    ago; a reading that found nothing readable is not kept."""
    client = kube.unimpersonated
    now = time.monotonic()
    kept = _admission_read.get(client)
    if kept is not None and now - kept[0] < ttl:
        return kept[1]
    admission = await read_admission(kube)
    if not admission.everything:
        _admission_read[client] = (now, admission)
    return admission


async def read_admission(kube: Kube) -> Admission:
    """Every admission rule that could match a create, and the namespaces with quotas
    or limits, read as gitward itself; unreadable (RBAC, an old server) means everything."""
    sources = [
        (_ADMISSION + "/v1", "ValidatingWebhookConfiguration"),
        (_ADMISSION + "/v1", "MutatingWebhookConfiguration"),
        (_ADMISSION + "/v1", "ValidatingAdmissionPolicy"),
        (_ADMISSION + "/v1beta1", "MutatingAdmissionPolicy"),
        (_ADMISSION + "/v1", "MutatingAdmissionPolicy"),
        ("v1", "ResourceQuota"),
        ("v1", "LimitRange"),
    ]
    me = kube.unimpersonated
    try:
        # The mapper as discovered: a kind this server does not serve is no reason
        # to ask for discovery again.
        mapper = await me.discover()
        served = [
            (kind, r)
            for v, kind in sources
            if (r := mapper.lookup(group_of(v), kind, v.rsplit("/", 1)[-1])) is not None
            and r.api_version == v
        ]
        lists = await asyncio.gather(*(me.list(r) for _, r in served))
    except KubeError:
        return Admission(everything=True)
    rules: list[tuple[frozenset[str], frozenset[str]]] = []
    namespaces: set[str] = set()
    for (kind, _), (items, _) in zip(served, lists, strict=True):
        for item in items:
            if kind in ("ResourceQuota", "LimitRange"):
                namespaces.add(str(item["metadata"].get("namespace", "")))
            else:
                rules.extend(_create_rules(item))
    return Admission(rules=tuple(rules), namespaces=frozenset(namespaces))


def _create_rules(item: dict[str, Any]) -> Iterable[tuple[frozenset[str], frozenset[str]]]:
    """(groups, resources) of each rule of a webhook configuration or policy that
    covers CREATE; selectors and conditions are ignored, so it may over-match."""
    spec = item.get("spec") or {}
    found = [
        *(r for w in item.get("webhooks") or () for r in w.get("rules") or ()),
        *((spec.get("matchConstraints") or {}).get("resourceRules") or ()),
    ]
    for rule in found:
        operations = set(rule.get("operations") or ())
        if operations & {"CREATE", "*"}:
            yield frozenset(rule.get("apiGroups") or ()), frozenset(rule.get("resources") or ())


__all__ = [
    "BUILT_IN_GROUPS",
    "Admission",
    "Prechecks",
    "may_create_first",
    "may_precheck",
    "prechecks",
    "read_admission",
    "recent_admission",
]
