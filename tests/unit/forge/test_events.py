"""Pull request webhook bodies, as each forge sends them, to one event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitward.forge import PullAction, pull_request_event
from tests.unit.forge.recorded import FIXTURES

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"


def event(forge: str, name: str) -> Any:
    doc = json.loads((FIXTURES / "webhooks" / f"{name}.json").read_text())
    return pull_request_event(forge, doc["headers"], doc["body"])


@pytest.mark.parametrize(
    ("forge", "name", "action"),
    [
        ("github", "github_opened", PullAction.OPENED),
        ("github", "github_synchronize", PullAction.PUSHED),
        ("github", "github_reopened", PullAction.REOPENED),
        ("gitea", "gitea_opened", PullAction.OPENED),
        ("gitea", "gitea_synchronized", PullAction.PUSHED),
        ("gitlab", "gitlab_open", PullAction.OPENED),
        ("gitlab", "gitlab_update_push", PullAction.PUSHED),
        ("gitlab", "gitlab_reopen", PullAction.REOPENED),
    ],
)
def test_pull_request_events_that_change_the_head_are_read(
    forge: str, name: str, action: PullAction
) -> None:
    got = event(forge, name)
    assert got is not None
    assert got.action is action
    assert (got.number, got.head, got.head_sha, got.base, got.repo) == (
        7,
        "gitward/promote/xposer/prod",
        SHA,
        "main",
        "acme/config",
    )
    assert got.forge == forge


@pytest.mark.parametrize(
    ("forge", "name"),
    [
        ("github", "github_edited"),
        ("gitea", "gitea_closed"),
        ("gitlab", "gitlab_update_title"),
    ],
)
def test_events_that_leave_the_head_alone_are_none(forge: str, name: str) -> None:
    assert event(forge, name) is None


def test_an_event_read_as_another_forge_is_none() -> None:
    assert event("gitlab", "github_opened") is None
    assert event("github", "gitea_opened") is None


@pytest.mark.parametrize("body", [None, [], "text", {"action": "opened"}, {"pull_request": 3}])
def test_a_body_of_another_shape_is_none(body: object) -> None:
    assert pull_request_event("github", {"X-GitHub-Event": "pull_request"}, body) is None
