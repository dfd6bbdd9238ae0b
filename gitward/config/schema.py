"""The JSON Schema of ``gitward.yaml``; the README's configuration reference mirrors it."""

from __future__ import annotations

from typing import Any

_NAME = {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"}
_POINTER = {"type": "string", "pattern": "^(/[^/]*)+$"}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gitward.yaml",
    "type": "object",
    "additionalProperties": False,
    "required": ["apps"],
    "properties": {
        "environment": _NAME,
        # Only ever stricter than the operator's --verify (gitward.config.verify).
        "verify": {"enum": ["none", "head", "strict"]},
        "apps": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "path"],
                "properties": {
                    "name": _NAME,
                    "environment": _NAME,
                    "path": {"type": "string", "minLength": 1},
                    "namespace": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                    "createNamespace": {"type": "boolean"},
                    "prune": {"type": "boolean"},
                    "allowEmpty": {"type": "boolean"},
                    "autoSync": {"type": "boolean"},
                    "selfHeal": {"type": "boolean"},
                    "releaseName": _NAME,
                    "valuesFiles": {"type": "array", "items": {"type": "string"}},
                    "serviceAccountName": {
                        "type": "string",
                        "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
                    },
                    "dependsOn": {"type": "array", "items": _NAME, "uniqueItems": True},
                    "ignore": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["jsonPointers"],
                            "properties": {
                                "group": {"type": "string"},
                                "kind": {"type": "string"},
                                "name": {"type": "string"},
                                "namespace": {"type": "string"},
                                "jsonPointers": {"type": "array", "items": _POINTER, "minItems": 1},
                            },
                        },
                    },
                },
            },
        },
    },
}
