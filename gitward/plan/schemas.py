"""Checking a new object's structure and types against the API server's own schema.

Before a server-side apply validates anything, the API server turns the
object into a typed value following its OpenAPI schema (structured-merge-diff's
typed conversion), then decodes it into the kind's Go type. Either step
refuses: a string where a number goes, a field the kind does not have, a map
for a list, two containers of the same name, a value that is no quantity,
no date or no base64. This module makes the same checks on the client, from
the schemas the server publishes (:meth:`gitward.kube.Kube.openapi_schemas`),
so a *new* object of a built-in kind can be judged without a dry-run request.

No maintained Python library does this: JSON Schema validators know neither
associative lists (``x-kubernetes-list-map-keys``), nor int-or-string, nor
that a Kubernetes object with declared properties refuses the rest.

What it cannot see, and a server dry-run would: the kind's own validation in
the API server (a Deployment whose selector does not match its template, a
container without an image, a name that is no DNS label, an unknown enum
value), admission (webhooks, ValidatingAdmissionPolicies, quotas, LimitRanges,
Pod Security) and RBAC. :func:`gitward.plan.planner.build_plan` sends those
objects to the server instead whenever it can tell they may be refused there.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gitward.objects import Body, group_of

# The prefix of the API server's own check of a quantity, before it parses one.
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_QUANTITY_SCHEMA = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_REF_PREFIX = "#/components/schemas/"
_MAX_ERRORS = 3


class SchemaCheck:
    """The check of every kind of one group version's schemas."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self._schemas = schemas
        self._kinds: dict[tuple[str, str, str], str] = {}
        for name, schema in schemas.items():
            for gvk in schema.get("x-kubernetes-group-version-kind") or ():
                key = (str(gvk.get("group", "")), str(gvk.get("version", "")), str(gvk["kind"]))
                self._kinds[key] = name

    def knows(self, api_version: str, kind: str) -> bool:
        return self._root(api_version, kind) is not None

    def problems(self, body: Body) -> str | None:
        """What the server would refuse in ``body`` before validating it, or ``None``."""
        root = self._root(str(body.get("apiVersion", "")), str(body.get("kind", "")))
        if root is None:
            return None
        out: list[str] = []
        self._check(body, {"$ref": _REF_PREFIX + root}, "", out)
        if not out:
            return None
        more = f" (and {len(out) - _MAX_ERRORS} more)" if len(out) > _MAX_ERRORS else ""
        return "; ".join(out[:_MAX_ERRORS]) + more

    def _root(self, api_version: str, kind: str) -> str | None:
        version = api_version.rsplit("/", maxsplit=1)[-1]
        return self._kinds.get((group_of(api_version), version, kind))

    def _resolve(self, schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
        """``schema`` with its reference followed (``$ref``, or ``allOf`` of one ``$ref``),
        and the name of the schema it ended at."""
        name = ""
        for _ in range(32):  # a reference to a reference … never this deep in practice
            ref = schema.get("$ref")
            if ref is None:
                all_of = schema.get("allOf")
                if not (isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]):
                    break
                ref = all_of[0]["$ref"]
            name = str(ref).removeprefix(_REF_PREFIX)
            schema = self._schemas.get(name) or {}
        return schema, name

    def _check(self, value: Any, schema: Mapping[str, Any], path: str, out: list[str]) -> None:
        if value is None:
            return  # null is "not set" to the server
        s, name = self._resolve(schema)
        if s.get("x-kubernetes-preserve-unknown-fields"):
            return
        if s.get("x-kubernetes-int-or-string") or s.get("format") == "int-or-string":
            if not (isinstance(value, str) or _integral(value)):
                out.append(f"{path}: expected an integer or a string, got {_show(value)}")
            return
        if name == _QUANTITY_SCHEMA:
            if isinstance(value, str) and not _QUANTITY.match(value):
                out.append(f"{path}: {json.dumps(value)} is no quantity (such as 500m, 2Gi, 1.5)")
            elif not isinstance(value, str) and not _number(value):
                out.append(f"{path}: expected a quantity, got {_show(value)}")
            return
        kind = s.get("type")
        if kind is None and ("properties" in s or "additionalProperties" in s):
            kind = "object"
        if kind == "object":
            self._check_map(value, s, path, out)
        elif kind == "array":
            self._check_list(value, s, path, out)
        elif kind == "string":
            _check_string(value, s, path, out)
        elif kind == "integer":
            if not _number(value):
                out.append(f"{path}: expected numeric (int or float), got {_show(value)}")
            elif not _integral(value):
                out.append(f"{path}: expected an integer, got {value}")
        elif kind == "number":
            if not _number(value):
                out.append(f"{path}: expected numeric (int or float), got {_show(value)}")
        elif kind == "boolean" and not isinstance(value, bool):
            out.append(f"{path}: expected boolean, got {_show(value)}")

    def _check_map(self, value: Any, s: Mapping[str, Any], path: str, out: list[str]) -> None:
        if not isinstance(value, dict):
            out.append(f"{path or '.'}: expected map, got {_show(value)}")
            return
        properties = s.get("properties") or {}
        extra = s.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None:
                if isinstance(extra, dict):
                    sub = extra
                elif properties and extra is not True:
                    out.append(f"{path}.{key}: field not declared in schema")
                    continue
                else:
                    continue  # a map of anything
            self._check(item, sub, f"{path}.{key}", out)

    def _check_list(self, value: Any, s: Mapping[str, Any], path: str, out: list[str]) -> None:
        if not isinstance(value, list):
            out.append(f"{path}: expected list, got {_show(value)}")
            return
        items = s.get("items") or {}
        list_type = s.get("x-kubernetes-list-type")
        keys = s.get("x-kubernetes-list-map-keys") or ()
        if list_type == "map" and keys:
            self._check_associative(value, items, list(keys), path, out)
            return
        seen: set[Any] = set()
        for i, item in enumerate(value):
            if list_type == "set" and isinstance(item, str | int | float | bool):
                if item in seen:
                    out.append(f"{path}: duplicate entries for key [={json.dumps(item)}]")
                seen.add(item)
            self._check(item, items, f"{path}[{i}]", out)

    def _check_associative(
        self, value: list[Any], items: Mapping[str, Any], keys: list[str], path: str, out: list[str]
    ) -> None:
        """A list whose entries are told apart by ``keys`` (containers by name)."""
        properties = self._resolve(items)[0].get("properties") or {}
        defaults = {k: (properties.get(k) or {}).get("default") for k in keys}
        seen: set[tuple[Any, ...]] = set()
        for i, item in enumerate(value):
            if item is None:
                out.append(
                    f"{path}: element {i}: associative list with keys may not have a null element"
                )
                continue
            if not isinstance(item, dict):
                self._check(item, items, f"{path}[{i}]", out)
                continue
            key = tuple(item.get(k, defaults[k]) for k in keys)
            shown = ",".join(
                f"{k}={json.dumps(v)}" for k, v in zip(keys, key, strict=True) if v is not None
            )
            if all(isinstance(v, str | int | float | bool) for v in key):
                if key in seen:
                    out.append(f"{path}: duplicate entries for key [{shown}]")
                seen.add(key)
            self._check(item, items, f"{path}[{shown}]" if shown else f"{path}[{i}]", out)


def _check_string(value: Any, s: Mapping[str, Any], path: str, out: list[str]) -> None:
    if not isinstance(value, str):
        out.append(f"{path}: expected string, got {_show(value)}")
        return
    fmt = s.get("format")
    if fmt == "byte":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            out.append(f"{path}: illegal base64 data")
    elif fmt == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            out.append(f"{path}: {json.dumps(value)} is no RFC 3339 time")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integral(value: Any) -> bool:
    """An integer, or a float without a fraction (YAML's ``1.0``: the server takes it)."""
    return _number(value) and (not isinstance(value, float) or value.is_integer())


def _show(value: Any) -> str:
    kind = {dict: "map", list: "list", str: "string", bool: "boolean"}.get(type(value))
    if kind is not None:
        return kind
    return f"number {value}" if _number(value) else type(value).__name__


__all__ = ["SchemaCheck"]
