"""The controller's log: one line per sync, drift, correction and error.

Each line is ``event key=value ...``; the fields also travel on the record as
``fields``, so a structured formatter (``--log-format json``) prints them as keys.
"""

from __future__ import annotations

import logging

log = logging.getLogger("gitward.controller")


def event(event: str, level: int = logging.INFO, **fields: str) -> None:
    """One log line per sync, drift, correction and error: ``event key=value ...``.

    The fields also travel as ``record.fields`` for a structured (JSON) formatter.
    """
    text = " ".join(f"{k}={quoted(v)}" for k, v in fields.items())
    log.log(level, "%s %s", event, text, extra={"event": event, "fields": fields})


def quoted(value: str) -> str:
    return f'"{value}"' if not value or any(c in value for c in ' "=') else value
