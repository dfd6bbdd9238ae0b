"""The controller's HTTP surface: health, metrics, app status and forge webhooks.

Self-contained by design. It imports nothing from the engine, and the
controller reaches it through one Protocol (:class:`StatusSource`). The
controller can change without touching the API, and the API is tested with a
fake source and no cluster. It runs on Starlette and uvicorn, in the
controller's event loop.

Modules:

- :mod:`~gitward.api.metrics`: the controller's metrics on ``prometheus_client``.
- :mod:`~gitward.api.webhooks`: pure per-forge verification of push and merge events.
- :mod:`~gitward.api.protocols`: :class:`StatusSource`, which the controller implements.
- :mod:`~gitward.api.auth`: when the API needs a bearer token, and checking it.
- :mod:`~gitward.api.routes`: the endpoints, each with its OpenAPI operation.
- :mod:`~gitward.api.app`: the Starlette application and its one error format.
- :mod:`~gitward.api.server`: uvicorn inside the controller's event loop.
- :mod:`~gitward.api.openapi`: the OpenAPI 3.1 document, generated from the routes.
"""

from gitward.api.metrics import (
    ControllerMetrics,
    Counter,
    Gauge,
    Histogram,
    Registry,
    controller_metrics,
)
from gitward.api.protocols import JSONObject, SourceError, StatusSource
from gitward.api.server import ApiServer, serve
from gitward.api.webhooks import VERIFIERS, WebhookEvent

__all__ = [
    "VERIFIERS",
    "ApiServer",
    "ControllerMetrics",
    "Counter",
    "Gauge",
    "Histogram",
    "JSONObject",
    "Registry",
    "SourceError",
    "StatusSource",
    "WebhookEvent",
    "controller_metrics",
    "serve",
]
