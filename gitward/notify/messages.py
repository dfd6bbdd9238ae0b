"""What each provider receives: the signed JSON, the Slack shape, the commit status.

* **webhook:** the notification as JSON (:meth:`Notification.to_doc`), with
  ``X-Gitward-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the exact body
  bytes under the provider's secret (the form GitHub and Gitea use for their
  own webhooks), ``X-Gitward-Event`` and ``X-Gitward-Delivery`` (the id).
* **slack:** an incoming webhook's ``{"text", "blocks"}``; ``text`` is the
  fallback a client shows in a notification, ``blocks`` the message.
* **forge:** a commit status on the revision, one context per app and kind
  of news (``gitward/sync/<app>``, ``gitward/health/<app>``,
  ``gitward/drift/<app>``; ``gitward/verify`` for a refused commit), so each
  shows its latest state beside the deploy status.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from gitward.config.notifications import EventKind
from gitward.forge import CommitState, CommitStatus, short_description
from gitward.notify.events import TITLES, Notification

SIGNATURE_HEADER = "X-Gitward-Signature-256"
EVENT_HEADER = "X-Gitward-Event"
DELIVERY_HEADER = "X-Gitward-Delivery"


def webhook_body(note: Notification) -> bytes:
    return json.dumps(note.to_doc(), sort_keys=True, separators=(",", ":")).encode()


def slack_bytes(note: Notification) -> bytes:
    return json.dumps(slack_body(note), separators=(",", ":")).encode()


def signature(secret: bytes, body: bytes) -> str:
    """``sha256=<hex>``: what a receiver recomputes over the body it got, and compares."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def webhook_headers(note: Notification, body: bytes, secret: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "gitward-notifications",
        EVENT_HEADER: note.event.value,
        DELIVERY_HEADER: note.id,
        SIGNATURE_HEADER: signature(secret, body),
    }


def _escaped(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally: ``&``, ``<`` and ``>`` are its markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, text: str) -> str:
    return f"<{url}|{_escaped(text)}>" if url else f"`{_escaped(text)}`"


def slack_body(note: Notification) -> dict[str, Any]:
    """Slack's incoming webhook message (Mattermost and Rocket.Chat take the same)."""
    mark = ":red_circle:" if note.bad else ":large_green_circle:"
    lines = [f"{mark} *{_escaped(note.title)}*"]
    if note.message:
        lines.append(_escaped(note.message))
    details = [f"revision {_link(note.revision_url, note.revision[:12])}"]
    if note.object:
        details.append(f"object `{_escaped(note.object)}`")
    for chart in note.charts:
        built = f" built from {_link(chart.commit_url, chart.commit[:12])}" if chart.commit else ""
        details.append(f"chart `{_escaped(chart.name)}@{_escaped(chart.version)}`{built}")
    if note.app_url:
        details.append(_link(note.app_url, "status"))
    return {
        "text": _escaped(f"{note.title}: {note.message}" if note.message else note.title),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": " · ".join(details)},
                    {"type": "mrkdwn", "text": f"id {note.id}"},
                ],
            },
        ],
    }


_CONTEXTS = {
    EventKind.SYNC_SUCCEEDED: ("sync", CommitState.SUCCESS),
    EventKind.SYNC_FAILED: ("sync", CommitState.FAILURE),
    EventKind.HEALTH_DEGRADED: ("health", CommitState.FAILURE),
    EventKind.HEALTH_RECOVERED: ("health", CommitState.SUCCESS),
    EventKind.DRIFT_DETECTED: ("drift", CommitState.FAILURE),
    EventKind.DRIFT_CORRECTED: ("drift", CommitState.SUCCESS),
    EventKind.FIGHTING: ("drift", CommitState.FAILURE),
    EventKind.COMMIT_REFUSED: ("verify", CommitState.FAILURE),
}


def commit_status(note: Notification) -> CommitStatus:
    group, state = _CONTEXTS[note.event]
    context = f"gitward/{group}/{note.app}" if note.app else f"gitward/{group}"
    what = TITLES[note.event][0]  # the status sits on the commit: no need to name it
    text = f"{what}: {note.message}" if note.message else what
    return CommitStatus(
        context=context,
        state=state,
        description=short_description(text),
        target_url=note.app_url,
    )
