"""Verifying forge webhooks: is this push or merge really from our forge?

A webhook only asks the controller to fetch git sooner than its next poll. It
never carries state that gitward trusts: the controller still reads the
revision from git. Even so, an unverified webhook is dropped. Otherwise anyone
who can reach the port could make the controller fetch and reconcile in a loop.

There is one pure function per forge, ``(headers, body, secret)`` to a
:class:`WebhookEvent` or ``None``. ``None`` means verification failed, and the
server answers 401. The functions do no I/O, so they are tested with recorded
payloads alone. Every comparison uses :func:`hmac.compare_digest`, and an empty
secret verifies nothing: a forge with webhooks left unconfigured must not
accept unsigned requests.

The body is parsed only after the signature is checked, and it is parsed
defensively. A verified body that is not the JSON we expect gives kind
``"other"``, never an exception. ``ref`` is always a full ref
(``refs/heads/main``), including for a merged pull request, where it is the
target branch. A pull request opened, reopened or pushed to is kind
``"pull_request"`` with the event :mod:`gitward.forge.events` reads, for a preview.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from gitward.forge.events import PullRequestEvent, dig, pull_request_event

__all__ = [
    "VERIFIERS",
    "EventKind",
    "Verifier",
    "WebhookEvent",
    "verify_bitbucket",
    "verify_generic",
    "verify_gitea",
    "verify_github",
    "verify_gitlab",
]

EventKind = Literal["push", "merge", "pull_request", "other"]

_ZERO_SHA = frozenset({"0" * 40, "0" * 64})


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook: which forge sent it, what happened, and on which ref."""

    forge: str
    kind: EventKind
    #: Full ref pushed to, or a merged pull request's target branch (``refs/heads/main``).
    ref: str | None = None
    #: The commit the ref now points at, when the payload says so.
    after: str | None = None
    #: A pull request opened, reopened or pushed to (kind ``pull_request``): what to preview.
    pull: PullRequestEvent | None = None


#: ``(headers, body, secret)`` to the verified event, or ``None`` when verification fails.
Verifier: TypeAlias = Callable[[Mapping[str, str], bytes, str], WebhookEvent | None]


# --- helpers -----------------------------------------------------------------


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _same(given: str, expected: str) -> bool:
    """Constant-time equality of two strings (of any characters)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _signed(given: str | None, secret: str, body: bytes, *, prefix: str) -> bool:
    """Whether ``given`` is ``prefix`` + the hex HMAC-SHA256 of ``body`` under ``secret``."""
    if not secret or given is None:
        return False
    given = given.strip()
    if prefix:
        if given[: len(prefix)].lower() != prefix:
            return False
        given = given[len(prefix) :]
    return _same(given.lower(), _hmac_hex(secret, body))


def _json(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or ``None`` when it is anything else."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sha(value: Any) -> str | None:
    text = _text(value)
    return None if text is None or text in _ZERO_SHA else text


def _full_ref(value: Any) -> str | None:
    """A branch name as a full ref; a full ref as it is."""
    text = _text(value)
    if text is None:
        return None
    return text if text.startswith("refs/") else f"refs/heads/{text}"


# --- forges ------------------------------------------------------------------


def _pull(forge: str, headers: Mapping[str, str], doc: dict[str, Any]) -> WebhookEvent | None:
    pull = pull_request_event(forge, headers, doc)
    return None if pull is None else WebhookEvent(forge=forge, kind="pull_request", pull=pull)


def _github_like(
    forge: str, event: str | None, doc: dict[str, Any] | None, headers: Mapping[str, str]
) -> WebhookEvent:
    """GitHub and Gitea share the payload shape of push and pull_request events."""
    if doc is None:
        return WebhookEvent(forge=forge, kind="other")
    pull = _pull(forge, headers, doc)
    if pull is not None:
        return pull
    if event == "push":
        return WebhookEvent(
            forge=forge, kind="push", ref=_full_ref(doc.get("ref")), after=_sha(doc.get("after"))
        )
    if (
        event == "pull_request"
        and doc.get("action") == "closed"
        and dig(doc, "pull_request", "merged") is True
    ):
        return WebhookEvent(
            forge=forge,
            kind="merge",
            ref=_full_ref(dig(doc, "pull_request", "base", "ref")),
            after=_sha(dig(doc, "pull_request", "merge_commit_sha")),
        )
    return WebhookEvent(forge=forge, kind="other")


def verify_github(headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent | None:
    """GitHub: ``X-Hub-Signature-256: sha256=<hex>``; event from ``X-GitHub-Event``."""
    lowered = _lower(headers)
    if not _signed(lowered.get("x-hub-signature-256"), secret, body, prefix="sha256="):
        return None
    return _github_like("github", lowered.get("x-github-event"), _json(body), headers)


def verify_gitea(headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent | None:
    """Gitea and Forgejo: ``X-Gitea-Signature`` (or ``X-Forgejo-Signature``), bare hex."""
    lowered = _lower(headers)
    signature = lowered.get("x-gitea-signature", lowered.get("x-forgejo-signature"))
    if not _signed(signature, secret, body, prefix=""):
        return None
    event = lowered.get("x-gitea-event", lowered.get("x-forgejo-event"))
    return _github_like("gitea", event, _json(body), headers)


def verify_gitlab(headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent | None:
    """GitLab: ``X-Gitlab-Token`` is the secret itself; event from ``X-Gitlab-Event``."""
    lowered = _lower(headers)
    token = lowered.get("x-gitlab-token")
    if not secret or token is None or not _same(token, secret):
        return None
    event = lowered.get("x-gitlab-event")
    doc = _json(body)
    if doc is None:
        return WebhookEvent(forge="gitlab", kind="other")
    pull = _pull("gitlab", headers, doc)
    if pull is not None:
        return pull
    if event in ("Push Hook", "Tag Push Hook"):
        return WebhookEvent(
            forge="gitlab",
            kind="push",
            ref=_full_ref(doc.get("ref")),
            after=_sha(doc.get("after")),
        )
    if event == "Merge Request Hook" and dig(doc, "object_attributes", "state") == "merged":
        return WebhookEvent(
            forge="gitlab",
            kind="merge",
            ref=_full_ref(dig(doc, "object_attributes", "target_branch")),
            after=_sha(dig(doc, "object_attributes", "merge_commit_sha")),
        )
    return WebhookEvent(forge="gitlab", kind="other")


def verify_bitbucket(headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent | None:
    """Bitbucket Server / Data Center: ``X-Hub-Signature: sha256=<hex>``, ``X-Event-Key``."""
    lowered = _lower(headers)
    if not _signed(lowered.get("x-hub-signature"), secret, body, prefix="sha256="):
        return None
    event = lowered.get("x-event-key")
    doc = _json(body)
    if doc is None:
        return WebhookEvent(forge="bitbucket", kind="other")
    if event == "repo:refs_changed":
        changes = doc.get("changes")
        first = changes[0] if isinstance(changes, list) and changes else None
        return WebhookEvent(
            forge="bitbucket",
            kind="push",
            ref=_full_ref(dig(first, "ref", "id") or dig(first, "refId")),
            after=_sha(dig(first, "toHash")),
        )
    if event == "pr:merged":
        return WebhookEvent(
            forge="bitbucket",
            kind="merge",
            ref=_full_ref(dig(doc, "pullRequest", "toRef", "id")),
            after=_sha(dig(doc, "pullRequest", "properties", "mergeCommit", "id")),
        )
    return WebhookEvent(forge="bitbucket", kind="other")


def verify_generic(headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent | None:
    """Any sender: ``X-Gitward-Signature: sha256=<hex>`` or ``Authorization: Bearer <secret>``.

    An empty body or a JSON object is a push. The object's optional ``ref`` and
    ``after`` fields fill in the event. Any other verified body is ``"other"``.
    """
    lowered = _lower(headers)
    signature = lowered.get("x-gitward-signature")
    authorization = lowered.get("authorization", "")
    scheme, _, credentials = authorization.strip().partition(" ")
    by_token = bool(secret) and scheme.lower() == "bearer" and _same(credentials.strip(), secret)
    if not (by_token or _signed(signature, secret, body, prefix="sha256=")):
        return None
    if not body.strip():
        return WebhookEvent(forge="generic", kind="push")
    doc = _json(body)
    if doc is None:
        return WebhookEvent(forge="generic", kind="other")
    return WebhookEvent(
        forge="generic", kind="push", ref=_full_ref(doc.get("ref")), after=_sha(doc.get("after"))
    )


#: The verifier for each forge name in ``POST /api/v1/webhooks/{forge}``.
VERIFIERS: Mapping[str, Verifier] = MappingProxyType(
    {
        "github": verify_github,
        "gitlab": verify_gitlab,
        "gitea": verify_gitea,
        "bitbucket": verify_bitbucket,
        "generic": verify_generic,
    }
)
