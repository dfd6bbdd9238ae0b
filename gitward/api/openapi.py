"""The OpenAPI 3.1 description of the controller's HTTP API, served at ``/openapi.json``.

It is written by hand as a dict, next to the server, and not generated from
handlers: there are nine endpoints, and we have no framework to generate it
from. Two tests keep it honest. One checks that its paths and methods are
exactly the server's routes. The other validates real responses against its
schemas.

App summaries, app details, drift records and history records are built by
the controller (see :class:`gitward.api.protocols.StatusSource`). Here they
are open objects; the keys named are the ones clients can rely on.
"""

from __future__ import annotations

from typing import Any

from gitward import __version__
from gitward.api.webhooks import VERIFIERS

__all__ = ["document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _text(description: str, media_type: str = "text/plain") -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


_ERROR = _json("An error; the message starts with its subject.", "Error")

_APP_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The app's name in gitward.yaml.",
    "schema": {"type": "string"},
}


def _get(summary: str, ok: dict[str, Any], others: dict[str, Any] | None = None) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok, **(others or {}), "default": _ERROR}
    return {"get": {"summary": summary, "responses": responses}}


def _app_get(summary: str, ok: dict[str, Any]) -> dict[str, Any]:
    path = _get(summary, ok, {"404": _json("No app by that name.", "Error")})
    path["parameters"] = [_APP_NAME]
    return path


def document() -> dict[str, Any]:
    """The OpenAPI document, as a fresh dict."""
    forges = sorted(VERIFIERS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gitward controller",
            "version": __version__,
            "description": (
                "Health, metrics, app status and forge webhooks of a running gitward "
                "controller. Every error body is an Error object."
            ),
        },
        "paths": {
            "/healthz": _get("Liveness: ok while the event loop runs.", _text("Always `ok`.")),
            "/readyz": _get(
                "Readiness: config loaded and watches started.",
                _text("`ok`"),
                {"503": _text("`not ready`")},
            ),
            "/metrics": _get(
                "Prometheus metrics.",
                _text("Text exposition format 0.0.4.", "text/plain; version=0.0.4"),
            ),
            "/openapi.json": _get(
                "This document.",
                {
                    "description": "OpenAPI 3.1.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            ),
            "/api/v1/apps": _get("Every app, summarised.", _json("The apps.", "AppList")),
            "/api/v1/apps/{name}": _app_get("One app in full.", _json("The app.", "AppDetail")),
            "/api/v1/apps/{name}/drifts": _app_get(
                "Drift the controller saw in one app and what it did, newest first.",
                _json("The drift records.", "DriftList"),
            ),
            "/api/v1/apps/{name}/history": _app_get(
                "The syncs of one app recorded in the cluster, newest first.",
                _json("The sync records.", "History"),
            ),
            "/api/v1/webhooks/{forge}": {
                "parameters": [
                    {
                        "name": "forge",
                        "in": "path",
                        "required": True,
                        "description": "Which forge's signature scheme to verify.",
                        "schema": {"type": "string", "enum": forges},
                    }
                ],
                "post": {
                    "summary": "A push or merge event from a forge: fetch git now.",
                    "description": (
                        "Verified with the controller's shared secret: github "
                        "`X-Hub-Signature-256: sha256=<hmac>`, gitlab `X-Gitlab-Token`, "
                        "gitea/forgejo `X-Gitea-Signature: <hmac>`, bitbucket (Server/Data "
                        "Center) `X-Hub-Signature: sha256=<hmac>`, generic "
                        "`X-Gitward-Signature: sha256=<hmac>` or `Authorization: Bearer "
                        "<secret>`. The HMAC is SHA-256 over the raw body, in hex. A generic "
                        "body may be empty or a JSON object with optional `ref` and `after`."
                    ),
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": {}}},
                    },
                    "responses": {
                        "202": _json("Verified and queued.", "WebhookAccepted"),
                        "401": _json("The signature or token did not verify.", "Error"),
                        "404": _json("Unknown forge.", "Error"),
                        "413": _json("The body is larger than 1 MiB.", "Error"),
                        "503": _json("No webhook secret is configured.", "Error"),
                        "default": _ERROR,
                    },
                },
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                    "additionalProperties": False,
                },
                "AppSummary": {
                    "type": "object",
                    "description": "One app in a list, as the controller summarises it.",
                    "additionalProperties": True,
                },
                "AppDetail": {
                    "type": "object",
                    "description": "One app in full, as the controller describes it.",
                    "additionalProperties": True,
                },
                "AppList": {
                    "type": "object",
                    "required": ["apps"],
                    "properties": {"apps": {"type": "array", "items": _ref("AppSummary")}},
                    "additionalProperties": False,
                },
                "DriftList": {
                    "type": "object",
                    "required": ["drifts"],
                    "properties": {"drifts": {"type": "array", "items": {"type": "object"}}},
                    "additionalProperties": False,
                },
                "History": {
                    "type": "object",
                    "required": ["history"],
                    "properties": {"history": {"type": "array", "items": {"type": "object"}}},
                    "additionalProperties": False,
                },
                "WebhookAccepted": {
                    "type": "object",
                    "required": ["accepted"],
                    "properties": {"accepted": {"const": True}},
                    "additionalProperties": False,
                },
            }
        },
    }
