"""The one public JSON shape of gitward's results (see :mod:`gitward.views.encoding`)."""

from gitward.views.apps import (
    ControlledApp,
    ObjectHealth,
    controlled_app_detail_view,
    controlled_app_view,
    status_view,
)
from gitward.views.encoding import API_VERSION, camel_case, document, encode
from gitward.views.records import drift_view, history_view
from gitward.views.results import plan_view, run_view, sync_view

__all__ = [
    "API_VERSION",
    "ControlledApp",
    "ObjectHealth",
    "camel_case",
    "controlled_app_detail_view",
    "controlled_app_view",
    "document",
    "drift_view",
    "encode",
    "history_view",
    "plan_view",
    "run_view",
    "status_view",
    "sync_view",
]
