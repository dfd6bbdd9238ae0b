"""The controller's log as JSON: one object per line, for log pipelines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonLogFormatter(logging.Formatter):
    """``{"time", "level", "logger", "event", "message", ...fields}`` per record.

    The controller's events carry their fields (``app``, ``object``, ``actor``,
    ``duration``) as ``record.fields``; they become top-level keys.
    """

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        event = getattr(record, "event", None)
        if event:
            doc["event"] = event
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update({str(k): v for k, v in fields.items() if str(k) not in doc})
        doc["message"] = record.getMessage()
        if record.exc_info:
            doc["traceback"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)
