"""The OpenAPI 3.1 description of the controller's HTTP API, served at ``/openapi.json``.

It is written by hand as a dict, next to the server, and not generated from
handlers: there are nine endpoints, and we have no framework to generate it
from. Tests keep it honest: its paths and methods are exactly the server's
routes, the routes it marks public (``security: []``) are exactly the ones the
server serves without a token, and real responses validate against its schemas.

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
_UNAUTHORIZED = _json(
    "The controller has an API token and the request did not carry it as a bearer token.",
    "Error",
)
_UNAVAILABLE = _json(
    "This replica cannot answer: `standby: the leader is <pod>` on a standby (ask the "
    "leader, or retry through the Service), or the leader has no config from git yet.",
    "Error",
)

_APP_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The app's name in gitward.yaml.",
    "schema": {"type": "string"},
}


def _get(
    summary: str,
    ok: dict[str, Any],
    others: dict[str, Any] | None = None,
    *,
    public: bool = False,
) -> dict[str, Any]:
    """A GET operation; unless ``public``, it needs the bearer token when one is set."""
    responses: dict[str, Any] = {"200": ok, **(others or {})}
    operation: dict[str, Any] = {"summary": summary}
    if public:
        operation["security"] = []
    else:
        responses["401"] = _UNAUTHORIZED
    operation["responses"] = {**responses, "default": _ERROR}
    return {"get": operation}


def _app_get(
    summary: str, ok: dict[str, Any], others: dict[str, Any] | None = None
) -> dict[str, Any]:
    path = _get(
        summary,
        ok,
        {"404": _json("No app by that name.", "Error"), "503": _UNAVAILABLE, **(others or {})},
    )
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
                "controller. Every error body is an Error object. When the controller "
                "has an API token (required unless it listens on loopback), every "
                "operation but the probes and the webhooks needs it as a bearer token. "
                "Only the leader answers the app routes; a standby answers 503."
            ),
        },
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": _get(
                "Liveness: every long-lived task of the controller is running.",
                _text("`ok`"),
                {"503": _text("Which task died and waits for its restart.")},
                public=True,
            ),
            "/readyz": _get(
                "Readiness: the leader has reconciled once and its reconcile loop runs, or a "
                "standby can read the Lease.",
                _text("`ok`"),
                {"503": _text("`not ready: <reason>`")},
                public=True,
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
            "/api/v1/apps": _get(
                "Every app, summarised.", _json("The apps.", "AppList"), {"503": _UNAVAILABLE}
            ),
            "/api/v1/apps/{name}": _app_get("One app in full.", _json("The app.", "AppDetail")),
            "/api/v1/apps/{name}/drifts": _app_get(
                "Drift the controller saw in one app and what it did, newest first.",
                _json("The drift records.", "DriftList"),
            ),
            "/api/v1/apps/{name}/history": _app_get(
                "The syncs of one app recorded in the cluster, newest first.",
                _json("The sync records.", "History"),
                {
                    "500": _json(
                        "The history ConfigMap does not decode; the message names it and "
                        "says how to recover.",
                        "Error",
                    ),
                    "503": _json(
                        "This replica is a standby, or the API server could not be read "
                        "(the message says which).",
                        "Error",
                    ),
                },
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
                    "security": [],
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
                        "503": _json(
                            "No webhook secret is configured, or this replica is a standby "
                            "(the event is not taken; the leader still polls git).",
                            "Error",
                        ),
                        "default": _ERROR,
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`--api-token-file` or `$GITWARD_API_TOKEN` of the controller.",
                }
            },
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
            },
        },
    }
