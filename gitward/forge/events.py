"""Pull request webhook payloads, per forge, to one :class:`PullRequestEvent`.

Verification (the signature) is :mod:`gitward.api.webhooks`' job and happens
first; these functions only read a verified body. They are pure, so they are
tested with recorded payloads. Only the actions that change what a preview
shows count: a pull request opened, reopened, or pushed to (GitHub's
``synchronize``, Gitea's ``synchronized``, GitLab's ``update`` that carries
``oldrev``, i.e. new commits). Anything else, or a body that is not the shape
expected, is ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class PullAction(StrEnum):
    OPENED = "opened"
    PUSHED = "pushed"
    REOPENED = "reopened"


@dataclass(frozen=True)
class PullRequestEvent:
    forge: str
    action: PullAction
    number: int
    head: str  # the branch
    head_sha: str
    base: str
    repo: str  # "owner/name", the project's full path on GitLab


_GITHUB_ACTIONS = {
    "opened": PullAction.OPENED,
    "synchronize": PullAction.PUSHED,
    "synchronized": PullAction.PUSHED,  # Gitea and Forgejo spell it so
    "reopened": PullAction.REOPENED,
}
_GITLAB_ACTIONS = {"open": PullAction.OPENED, "reopen": PullAction.REOPENED}


def dig(doc: Any, *keys: str) -> Any:
    """``doc[k1][k2]…`` through nested JSON objects; ``None`` where a step is missing."""
    for key in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _github_like(forge: str, doc: Mapping[str, Any]) -> PullRequestEvent | None:
    action = _GITHUB_ACTIONS.get(_text(doc.get("action")))
    pull = doc.get("pull_request")
    number = dig(pull, "number")
    if action is None or not isinstance(number, int):
        return None
    event = PullRequestEvent(
        forge=forge,
        action=action,
        number=number,
        head=_text(dig(pull, "head", "ref")),
        head_sha=_text(dig(pull, "head", "sha")),
        base=_text(dig(pull, "base", "ref")),
        repo=_text(dig(doc, "repository", "full_name")),
    )
    return event if event.head_sha and event.base else None


def github_pull_event(
    headers: Mapping[str, str], doc: Mapping[str, Any]
) -> PullRequestEvent | None:
    if _lower(headers).get("x-github-event") != "pull_request":
        return None
    return _github_like("github", doc)


def gitea_pull_event(headers: Mapping[str, str], doc: Mapping[str, Any]) -> PullRequestEvent | None:
    lowered = _lower(headers)
    # Gitea sends X-Gitea-Event: pull_request and, for pushes to a PR, X-Gitea-Event-Type
    # pull_request_sync; both carry the same body.
    event = lowered.get("x-gitea-event", lowered.get("x-forgejo-event"))
    if event not in ("pull_request", "pull_request_sync"):
        return None
    return _github_like("gitea", doc)


def gitlab_pull_event(
    headers: Mapping[str, str], doc: Mapping[str, Any]
) -> PullRequestEvent | None:
    if _lower(headers).get("x-gitlab-event") != "Merge Request Hook":
        return None
    attrs = doc.get("object_attributes")
    raw_action = _text(dig(attrs, "action"))
    action = _GITLAB_ACTIONS.get(raw_action)
    if raw_action == "update" and _text(dig(attrs, "oldrev")):
        action = PullAction.PUSHED
    number = dig(attrs, "iid")
    if action is None or not isinstance(number, int):
        return None
    event = PullRequestEvent(
        forge="gitlab",
        action=action,
        number=number,
        head=_text(dig(attrs, "source_branch")),
        head_sha=_text(dig(attrs, "last_commit", "id")),
        base=_text(dig(attrs, "target_branch")),
        repo=_text(dig(doc, "project", "path_with_namespace")),
    )
    return event if event.head_sha and event.base else None


_PARSERS = {
    "github": github_pull_event,
    "gitea": gitea_pull_event,
    "forgejo": gitea_pull_event,
    "gitlab": gitlab_pull_event,
}


def pull_request_event(forge: str, headers: Mapping[str, str], doc: Any) -> PullRequestEvent | None:
    """The pull request event a verified webhook from ``forge`` carries, if it is one."""
    parse = _PARSERS.get(forge)
    if parse is None or not isinstance(doc, Mapping):
        return None
    return parse(headers, doc)
