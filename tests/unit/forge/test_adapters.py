"""Each adapter against request/response shapes recorded from its forge's API docs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from gitward.errors import ExitCode
from gitward.forge import (
    CommitState,
    CommitStatus,
    Forge,
    ForgeConflict,
    ForgeNotFound,
    ForgeRefused,
    ForgeUnreachable,
    PullState,
    open_forge,
    put_comment,
)
from tests.unit.forge.recorded import Recorded, exchanges

HEAD = "gitward/promote/xposer/prod"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
MERGE_SHA = "e5bd3914e2e596debea16f433f57875b5b90bcd6"
URLS = {
    "gitea": "http://127.0.0.1:3000",
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.example.com",
}
ALL = ("gitea", "github", "gitlab")


def open_pull(f: Forge) -> Awaitable[Any]:
    return f.open_pull(
        head=HEAD, base="main", title="Promote xposer to 1.4.0 in prod", body="the body"
    )


def put_preview(f: Forge) -> Awaitable[Any]:
    return put_comment(f, number=7, purpose="preview", body="new plan")


def forge_for(kind: str, recording: str) -> tuple[Forge, Recorded]:
    transport = Recorded(exchanges(kind, recording))
    return answered_by(kind, transport), transport


def answered_by(kind: str, transport: httpx.AsyncBaseTransport) -> Forge:
    return open_forge(
        kind=kind, url=URLS[kind], repo="acme/config", token="s3cret", transport=transport
    )


def run(kind: str, recording: str, call: Callable[[Forge], Awaitable[Any]]) -> tuple[Any, Recorded]:
    forge, transport = forge_for(kind, recording)

    async def go() -> Any:
        try:
            return await call(forge)
        finally:
            await forge.aclose()

    result = asyncio.run(go())
    assert transport.done, f"{kind}/{recording}: not every recorded request was made"
    return result, transport


@pytest.mark.parametrize("kind", ALL)
def test_finds_the_open_pull_request_of_a_branch(kind: str) -> None:
    pull, _ = run(kind, "find_pull", lambda f: f.find_pull(head=HEAD, base="main"))
    assert pull is not None
    assert (pull.number, pull.head, pull.base, pull.head_sha, pull.state) == (
        7,
        HEAD,
        "main",
        SHA,
        PullState.OPEN,
    )
    assert pull.title == "Promote xposer to 1.4.0 in prod"
    assert pull.body == "old body"
    assert pull.url.endswith("/7")
    assert pull.merge_sha == ""  # GitHub names a test merge commit before merging; not ours


@pytest.mark.parametrize("kind", ["gitea", "github"])
def test_no_open_pull_request_for_a_branch_is_none(kind: str) -> None:
    pull, _ = run(kind, "find_pull_none", lambda f: f.find_pull(head=HEAD, base="main"))
    assert pull is None


@pytest.mark.parametrize("kind", ALL)
def test_opens_a_pull_request(kind: str) -> None:
    pull, transport = run(kind, "open_pull", open_pull)
    assert pull.number == 7 and pull.body == "the body"
    sent = transport.requests[0]
    assert "s3cret" in str(sent.headers.get("authorization", sent.headers.get("private-token")))


@pytest.mark.parametrize("kind", ALL)
def test_updates_a_pull_request(kind: str) -> None:
    pull, _ = run(
        kind,
        "update_pull",
        lambda f: f.update_pull(number=7, title="Promote xposer to 1.5.0 in prod", body="new body"),
    )
    assert (pull.title, pull.body) == ("Promote xposer to 1.5.0 in prod", "new body")


@pytest.mark.parametrize("kind", ALL)
def test_merging_gives_the_merge_commit(kind: str) -> None:
    sha, _ = run(kind, "merge_pull", lambda f: f.merge_pull(number=7))
    assert sha == MERGE_SHA


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_an_unmergeable_pull_request_is_a_conflict(kind: str) -> None:
    with pytest.raises(ForgeConflict, match=r"merge .*#7|merge .*!7"):
        run(kind, "merge_pull_conflict", lambda f: f.merge_pull(number=7))


def test_a_merged_pull_request_reads_as_merged_with_its_commit() -> None:
    pull, _ = run("github", "merged_pull", lambda f: f.get_pull(7))
    assert pull.state is PullState.MERGED and pull.merge_sha == MERGE_SHA


@pytest.mark.parametrize("kind", ALL)
def test_the_marked_comment_is_edited_not_duplicated(kind: str) -> None:
    comment, transport = run(kind, "comment_edit", put_preview)
    assert comment.id == 2 and comment.body.endswith("new plan")
    assert [r.method for r in transport.requests][-1] in ("PATCH", "PUT")


@pytest.mark.parametrize("kind", ["gitea", "github"])
def test_without_a_marked_comment_one_is_created(kind: str) -> None:
    comment, transport = run(kind, "comment_create", put_preview)
    assert comment.id == 3
    assert [r.method for r in transport.requests] == ["GET", "POST"]


def test_a_comment_that_already_says_it_is_not_written_again() -> None:
    comment, transport = run("github", "comment_same", put_preview)
    assert comment.id == 2
    assert [r.method for r in transport.requests] == ["GET"]


@pytest.mark.parametrize("kind", ALL)
def test_sets_and_reads_commit_statuses(kind: str) -> None:
    status = CommitStatus(
        context="gitward/preview",
        state=CommitState.FAILURE,
        description="shop: Deployment/web: invalid",
        target_url="http://127.0.0.1:8080/api/v1/apps/shop",
    )

    async def both(f: Forge) -> Any:
        await f.set_status(sha=SHA, status=status)
        return await f.statuses(SHA)

    got, _ = run(kind, "statuses", both)
    by_context = {s.context: s for s in got}
    assert by_context["gitward/preview"] == status  # GitLab: its newest of that name
    assert len(by_context) == 2


@pytest.mark.parametrize(
    ("kind", "call", "needs"),
    [
        ("github", open_pull, "pull_requests=write"),
        ("gitea", lambda f: f.create_comment(number=7, body="hello"), "write:issue"),
        ("gitlab", open_pull, "api scope"),
    ],
)
def test_a_refusal_names_the_permission_the_token_lacks(
    kind: str, call: Callable[[Forge], Awaitable[Any]], needs: str
) -> None:
    with pytest.raises(ForgeRefused) as caught:
        run(kind, "refused", call)
    assert needs in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert caught.value.exit_code == ExitCode.CLUSTER


def test_an_unknown_pull_request_is_not_found_and_bad_input() -> None:
    with pytest.raises(ForgeNotFound, match="#99") as caught:
        run("github", "not_found", lambda f: f.get_pull(99))
    assert caught.value.exit_code == ExitCode.INPUT


@pytest.mark.parametrize("kind", ALL)
def test_an_unreachable_forge_is_exit_3_and_no_transport_error_leaks(kind: str) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    forge = answered_by(kind, httpx.MockTransport(refuse))
    with pytest.raises(ForgeUnreachable, match="unreachable: connection refused") as caught:
        asyncio.run(forge.find_pull(head=HEAD, base="main"))
    assert caught.value.exit_code == ExitCode.CLUSTER


def test_a_forge_failing_on_its_side_is_unreachable() -> None:
    bad_gateway = httpx.Response(502, text="Bad Gateway")
    forge = answered_by("gitea", httpx.MockTransport(lambda r: bad_gateway))
    with pytest.raises(ForgeUnreachable, match="HTTP 502"):
        asyncio.run(forge.get_pull(1))


def test_gitea_refusing_a_merge_with_405_names_the_merge_permission() -> None:
    answer = httpx.Response(405, json={"message": "User not allowed to merge PR", "url": ""})
    forge = answered_by("gitea", httpx.MockTransport(lambda r: answer))
    with pytest.raises(ForgeRefused, match=r"merge rights on the base branch .*HTTP 405"):
        asyncio.run(forge.merge_pull(number=7))
