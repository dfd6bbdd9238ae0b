"""The API's routes: probes, metrics, the OpenAPI document, apps and webhooks.

Each endpoint is thin: it asks the :class:`~gitward.api.protocols.StatusSource`
and returns what the source built, so the API has no second model of an app.
The YAML after ``---`` in each docstring is that operation in the OpenAPI
document (:mod:`gitward.api.openapi` collects them). An endpoint that needs the
bearer token says so with ``@requires(AUTHENTICATED)`` (see :mod:`gitward.api.auth`);
the public ones (the probes, and webhooks, which carry their own signature)
say ``security: []`` in their operation.
"""

from __future__ import annotations

import logging

from starlette.authentication import requires
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from gitward.api import openapi
from gitward.api.auth import AUTHENTICATED
from gitward.api.metrics import CONTENT_TYPE, Registry
from gitward.api.protocols import StatusSource
from gitward.api.webhooks import VERIFIERS

__all__ = ["MAX_BODY_BYTES", "api_routes", "read_body"]

log = logging.getLogger("gitward.api")

#: The largest request body taken; a forge's push event is a few KiB.
MAX_BODY_BYTES = 1 << 20


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request's body, or 413 as soon as it is known to exceed ``limit`` bytes."""

    def too_large(size: str) -> HTTPException:
        return HTTPException(413, f"request body of {size} bytes: the limit is {limit}")

    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        raise too_large(announced)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(f"more than {limit}")
        chunks.append(chunk)
    return b"".join(chunks)


def api_routes(source: StatusSource, registry: Registry) -> list[BaseRoute]:
    """The API's routes, bound to ``source`` and ``registry``."""

    def refuse_when_unavailable() -> None:
        if reason := source.unavailable():
            raise HTTPException(503, reason)

    def known_app(name: str) -> str:
        refuse_when_unavailable()
        if name not in source.app_names():
            raise HTTPException(404, f"app {name} not found")
        return name

    async def healthz(request: Request) -> Response:
        """Liveness.
        ---
        summary: "Liveness: every long-lived task of the controller is running."
        security: []
        responses:
          "200": {description: "`ok`", content: {text/plain: {schema: {type: string}}}}
          "503":
            description: Which task died and waits for its restart.
            content: {text/plain: {schema: {type: string}}}
        """
        reason = source.liveness()
        return PlainTextResponse(reason, 503) if reason else PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        """Readiness.
        ---
        summary: >-
          Readiness: the leader has reconciled once and its reconcile loop runs,
          or a standby can read the Lease.
        security: []
        responses:
          "200": {description: "`ok`", content: {text/plain: {schema: {type: string}}}}
          "503":
            description: "`not ready: <reason>`"
            content: {text/plain: {schema: {type: string}}}
        """
        reason = source.readiness()
        if reason:
            return PlainTextResponse(f"not ready: {reason}", 503)
        return PlainTextResponse("ok")

    @requires(AUTHENTICATED, status_code=401)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics.
        ---
        summary: Prometheus metrics.
        responses:
          "200":
            description: Text exposition format 0.0.4.
            content: {"text/plain; version=0.0.4": {schema: {type: string}}}
          "401": {$ref: "#/components/responses/Unauthorized"}
        """
        return Response(registry.render(), media_type=CONTENT_TYPE)

    @requires(AUTHENTICATED, status_code=401)
    async def openapi_json(request: Request) -> Response:
        """This document.
        ---
        summary: This document.
        responses:
          "200":
            description: OpenAPI 3.1.
            content: {application/json: {schema: {type: object}}}
          "401": {$ref: "#/components/responses/Unauthorized"}
        """
        return JSONResponse(openapi.document(request.app.routes))

    @requires(AUTHENTICATED, status_code=401)
    async def apps(request: Request) -> Response:
        """Every app.
        ---
        summary: Every app, summarised.
        responses:
          "200":
            description: The apps, in display order.
            content:
              application/json:
                schema:
                  type: object
                  required: [apps]
                  properties: {apps: {type: array, items: {type: object}}}
                  additionalProperties: false
          "401": {$ref: "#/components/responses/Unauthorized"}
          "503": {$ref: "#/components/responses/Unavailable"}
        """
        refuse_when_unavailable()
        return JSONResponse({"apps": [source.app_summary(n) for n in source.app_names()]})

    @requires(AUTHENTICATED, status_code=401)
    async def shards(request: Request) -> Response:
        """Which replica serves which shard.
        ---
        summary: This replica, the shards it serves, and each shard's holder.
        description: >-
          Answered by every replica, standbys too. Unsharded (``--shards 1``),
          the one shard is the leader's.
        responses:
          "200":
            description: "`holders` maps each shard number to the replica holding its Lease."
            content:
              application/json:
                schema:
                  type: object
                  required: [replica, shards, served, holders]
                  properties:
                    replica: {type: string}
                    shards: {type: integer, minimum: 1}
                    served: {type: array, items: {type: integer}}
                    holders: {type: object, additionalProperties: {type: string}}
                    members: {type: array, items: {type: string}}
          "401": {$ref: "#/components/responses/Unauthorized"}
        """
        return JSONResponse(source.shards())

    @requires(AUTHENTICATED, status_code=401)
    async def app(request: Request) -> Response:
        """One app.
        ---
        summary: One app in full.
        parameters: [{$ref: "#/components/parameters/App"}]
        responses:
          "200":
            description: The app.
            content: {application/json: {schema: {type: object}}}
          "401": {$ref: "#/components/responses/Unauthorized"}
          "404": {$ref: "#/components/responses/NoSuchApp"}
          "503": {$ref: "#/components/responses/Unavailable"}
        """
        refuse_when_unavailable()
        name = request.path_params["name"]
        detail = source.app_detail(name)
        if detail is None:
            raise HTTPException(404, f"app {name} not found")
        return JSONResponse(detail)

    @requires(AUTHENTICATED, status_code=401)
    async def drifts(request: Request) -> Response:
        """One app's drift.
        ---
        summary: Drift the controller saw in one app and what it did, newest first.
        parameters: [{$ref: "#/components/parameters/App"}]
        responses:
          "200":
            description: The drift records.
            content:
              application/json:
                schema:
                  type: object
                  required: [drifts]
                  properties: {drifts: {type: array, items: {type: object}}}
                  additionalProperties: false
          "401": {$ref: "#/components/responses/Unauthorized"}
          "404": {$ref: "#/components/responses/NoSuchApp"}
          "503": {$ref: "#/components/responses/Unavailable"}
        """
        name = known_app(request.path_params["name"])
        return JSONResponse({"drifts": list(source.drift_records(name))})

    @requires(AUTHENTICATED, status_code=401)
    async def history(request: Request) -> Response:
        """One app's history.
        ---
        summary: The syncs of one app recorded in the cluster, newest first.
        parameters: [{$ref: "#/components/parameters/App"}]
        responses:
          "200":
            description: The sync records.
            content:
              application/json:
                schema:
                  type: object
                  required: [history]
                  properties: {history: {type: array, items: {type: object}}}
                  additionalProperties: false
          "401": {$ref: "#/components/responses/Unauthorized"}
          "404": {$ref: "#/components/responses/NoSuchApp"}
          "500":
            description: >-
              The history ConfigMap does not decode; the message names it and says
              how to recover.
            content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
          "503":
            description: >-
              This replica is a standby, or the API server could not be read (the
              message says which).
            content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
        """
        name = known_app(request.path_params["name"])
        return JSONResponse({"history": list(await source.history(name))})

    async def webhook(request: Request) -> Response:
        """A forge's push or merge.
        ---
        summary: "A push or merge event from a forge: fetch git now."
        security: []
        description: >-
          Verified with the controller's shared secret: github
          `X-Hub-Signature-256: sha256=<hmac>`, gitlab `X-Gitlab-Token`,
          gitea/forgejo `X-Gitea-Signature: <hmac>`, bitbucket (Server/Data Center)
          `X-Hub-Signature: sha256=<hmac>`, generic `X-Gitward-Signature: sha256=<hmac>`
          or `Authorization: Bearer <secret>`. The HMAC is SHA-256 over the raw body,
          in hex. A generic body may be empty or a JSON object with optional `ref`
          and `after`.
        parameters:
          - name: forge
            in: path
            required: true
            description: Which forge's signature scheme to verify.
            schema: {type: string}
        requestBody: {required: false, content: {application/json: {schema: {}}}}
        responses:
          "202":
            description: Verified and queued.
            content:
              application/json:
                schema:
                  type: object
                  required: [accepted]
                  properties: {accepted: {const: true}}
                  additionalProperties: false
          "401":
            description: The signature or token did not verify.
            content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
          "404":
            description: Unknown forge.
            content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
          "413":
            description: The body is larger than 1 MiB.
            content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
          "503":
            description: >-
              No webhook secret is configured, or this replica is a standby (the event
              is not taken; the leader still polls git).
            content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
        """
        forge = request.path_params["forge"]
        verify = VERIFIERS.get(forge)
        if verify is None:
            known = ", ".join(sorted(VERIFIERS))
            raise HTTPException(404, f"webhook forge {forge} unknown; use one of: {known}")
        secret = source.webhook_secret()
        if not secret:
            raise HTTPException(503, "webhooks are not configured")
        body = await read_body(request)
        event = verify(request.headers, body, secret)
        if event is None:
            log.warning("webhook %s: signature did not verify; request dropped", forge)
            raise HTTPException(401, f"webhook {forge}: signature did not verify")
        log.info("webhook %s: %s %s %s", forge, event.kind, event.ref or "-", event.after or "-")
        await source.on_webhook(event)
        return JSONResponse({"accepted": True}, 202)

    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/openapi.json", openapi_json),
        Route("/api/v1/apps", apps),
        Route("/api/v1/shards", shards),
        Route("/api/v1/apps/{name}", app),
        Route("/api/v1/apps/{name}/drifts", drifts),
        Route("/api/v1/apps/{name}/history", history),
        Route("/api/v1/webhooks/{forge}", webhook, methods=["POST"]),
    ]
