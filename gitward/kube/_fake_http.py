"""What the in-memory API server (:mod:`gitward.kube.fake`) says over HTTP.

Discovery documents, ``Status`` errors worded as the API server words them
(the planner quotes a conflict's text to users), watch lines and label
selectors: the wire side of the fake, kept apart from its storage and
ownership rules.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import httpx

from gitward.kube import _fake_fields as ff
from gitward.kube.discovery import Resource
from gitward.objects import Body


def discovery(
    resources: Iterable[Resource], request: httpx.Request, path: str, *, aggregated: bool
) -> httpx.Response:
    """The discovery document at ``path``: aggregated when asked for and ``aggregated``."""
    served = sorted(resources, key=lambda r: (r.group, r.version, r.plural))
    aggregated = aggregated and "apidiscovery.k8s.io" in request.headers.get("Accept", "")
    if path in ("/api", "/apis") and aggregated:
        core = path == "/api"
        items = []
        for group, members in itertools.groupby(
            (r for r in served if (r.group == "") == core), key=lambda r: r.group
        ):
            rs = list(members)
            items.append(
                {
                    "metadata": {"name": group},
                    "versions": [
                        {
                            "version": rs[0].version,
                            "resources": [
                                {
                                    "resource": r.plural,
                                    "responseKind": {
                                        "group": r.group,
                                        "version": r.version,
                                        "kind": r.kind,
                                    },
                                    "scope": "Namespaced" if r.namespaced else "Cluster",
                                    "verbs": sorted(r.verbs),
                                }
                                for r in rs
                            ],
                        }
                    ],
                }
            )
        return httpx.Response(
            200,
            json={
                "kind": "APIGroupDiscoveryList",
                "apiVersion": "apidiscovery.k8s.io/v2",
                "items": items,
            },
        )
    if path == "/api":
        return httpx.Response(200, json={"kind": "APIVersions", "versions": ["v1"]})
    if path == "/apis":
        groups = sorted({(r.group, r.version) for r in served if r.group})
        return httpx.Response(
            200,
            json={
                "kind": "APIGroupList",
                "groups": [
                    {
                        "name": g,
                        "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                        "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v},
                    }
                    for g, v in groups
                ],
            },
        )
    parts = [p for p in path.split("/") if p]
    group, version = ("", "v1") if parts[:2] == ["api", "v1"] else (*parts[1:3],)
    rs = [r for r in served if (r.group, r.version) == (group, version)]
    if len(parts) != (2 if not group else 3) or not rs:
        return status(404, "NotFound", f"the server could not find {path}")
    return httpx.Response(
        200,
        json={
            "kind": "APIResourceList",
            "groupVersion": rs[0].api_version,
            "resources": [
                {
                    "name": r.plural,
                    "kind": r.kind,
                    "namespaced": r.namespaced,
                    "verbs": sorted(r.verbs),
                }
                for r in rs
            ],
        },
    )


def selected(obj: Body, selector: str) -> bool:
    """Whether ``obj``'s labels match ``selector``: equality and set-based terms."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(_matches(labels, term) for term in _terms(selector))


def _terms(selector: str) -> list[str]:
    """The selector's terms: split at commas outside a set's parentheses."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(selector):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return [t.strip() for t in terms if t.strip()]


def _matches(labels: dict[str, str], term: str) -> bool:
    words = term.split(None, 1)
    if len(words) == 2 and words[1].split("(", 1)[0].strip() in ("in", "notin"):
        op, values = words[1].split("(", 1)
        members = {v.strip() for v in values.rstrip(")").split(",")}
        inside = labels.get(words[0]) in members
        return inside if op.strip() == "in" else not inside
    if "!=" in term:
        k, v = term.split("!=", 1)
        return labels.get(k.strip()) != v.strip()
    if "=" in term:
        k, v = term.split("=", 1)
        return labels.get(k.strip().rstrip("=")) == v.strip()
    if term.startswith("!"):
        return term[1:] not in labels
    return term in labels


def watch_line(kind: str, obj: Body) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


_REASONS = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Gone",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}


def reason(code: int) -> str:
    return _REASONS.get(code, "Unknown")


def status_body(
    code: int,
    reason: str,
    message: str,
    *,
    status: str = "Failure",
    details: dict[str, Any] | None = None,
) -> Body:
    out: Body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status}
    if status != "Success":
        out.update(message=message, reason=reason, code=code)
    if details:
        out["details"] = details
    return out


def status(
    code: int,
    reason: str,
    message: str,
    *,
    kind: Resource | str | None = None,
    name: str = "",
    causes: list[dict[str, str]] | None = None,
) -> httpx.Response:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if isinstance(kind, Resource):
        details.update(group=kind.group, kind=kind.plural)
    elif kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    return httpx.Response(code, json=status_body(code, reason, message, details=details))


def not_found(res: Resource, name: str) -> httpx.Response:
    what = f"{res.plural}.{res.group}" if res.group else res.plural
    return status(404, "NotFound", f'{what} "{name}" not found', kind=res, name=name)


def conflict(
    res: Resource, name: str, conflicts: dict[tuple[str, str], list[ff.Path]]
) -> httpx.Response:
    """A 409 worded as the API server words it (the planner shows this text to users)."""
    causes: list[dict[str, str]] = []
    groups: list[str] = []
    for (manager, operation), paths in sorted(conflicts.items()):
        who = f'"{manager}"' + (f" using {res.api_version}" if operation == "Update" else "")
        fields = [ff.dotted(p) for p in paths]
        causes.extend(
            {"reason": "FieldManagerConflict", "message": f"conflict with {who}", "field": f}
            for f in fields
        )
        if len(fields) == 1:
            groups.append(f"conflict with {who}: {fields[0]}")
        else:
            groups.append(f"conflicts with {who}:" + "".join(f"\n- {f}" for f in fields))
    n = len(causes)
    message = f"Apply failed with {n} conflict{'s' if n != 1 else ''}: " + "\n".join(groups)
    return httpx.Response(
        409,
        json=status_body(409, "Conflict", message, details={"causes": causes}),
    )
