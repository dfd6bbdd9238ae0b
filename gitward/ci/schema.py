"""The JSON Schema of ``gitward-ci.yaml``; the README's reference mirrors it."""

from __future__ import annotations

from typing import Any

_PATH = {"type": "string", "minLength": 1}
_VALUE_PATH = {"type": "string", "pattern": r"^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$"}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gitward-ci.yaml",
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "image": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {
                    "type": "string",
                    "pattern": r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$",
                },
                "registry": {"type": "string", "minLength": 1},
                "dockerfile": _PATH,
                "context": _PATH,
                "buildArgs": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                    "additionalProperties": {"type": "string"},
                },
                "secrets": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[A-Za-z0-9_.-]+$"},
                    "additionalProperties": {"type": "string", "minLength": 1},
                },
                "buildContexts": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[a-z0-9][a-z0-9._-]*$"},
                    "additionalProperties": {"type": "string", "minLength": 1},
                },
            },
        },
        "chart": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "path": _PATH,
                "imageValues": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "repository": _VALUE_PATH,
                        "tag": _VALUE_PATH,
                        "digest": _VALUE_PATH,
                    },
                },
            },
        },
        "publish": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "oci": {"type": "string"},
                "chartRepository": {"type": "string"},
            },
        },
        "promotion": {
            "type": "object",
            "additionalProperties": False,
            "required": ["repo"],
            "properties": {
                "repo": {"type": "string", "minLength": 1},
                "base": {"type": "string", "minLength": 1},
                "chart": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$"},
                "imageTag": _VALUE_PATH,
            },
        },
    },
}
