"""The OpenAPI 3.1 document served at ``/openapi.json``, generated from the routes.

Starlette's :class:`~starlette.schemas.SchemaGenerator` walks the served
routes and reads each operation from the YAML after ``---`` in its endpoint's
docstring (see :mod:`gitward.api.routes`). So the paths and methods of the
document are the server's, by construction. This module only holds what no
route owns: the title, the security scheme, and the shared ``Error`` shape.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from gitward import __version__

__all__ = ["document"]


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _base() -> dict[str, Any]:
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
            },
            "parameters": {
                "App": {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "description": "The app's name in gitward.yaml.",
                    "schema": {"type": "string"},
                }
            },
            "responses": {
                "Unauthorized": _error(
                    "The controller has an API token and the request did not carry it "
                    "as a bearer token."
                ),
                "NoSuchApp": _error("No app by that name."),
                "Unavailable": _error(
                    "This replica cannot answer: `standby: the leader is <pod>` on a "
                    "standby (ask the leader, or retry through the Service), or the "
                    "leader has no config from git yet."
                ),
            },
        },
    }


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of ``routes``, as a fresh dict."""
    return SchemaGenerator(_base()).get_schema(routes)
