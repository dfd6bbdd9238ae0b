"""Gitea's API (``/api/v1``), which Forgejo speaks too.

Permissions are named as Gitea's token scopes: pull requests and commit
statuses are ``write:repository``, comments (issue comments, on a pull
request) ``write:issue``; merging also needs write access to the base branch.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from gitward.forge._http import ForgeHttp
from gitward.forge.models import Comment, CommitState, CommitStatus, PullRequest, PullState

_READ_PR = "read:repository scope and read access to pull requests"
_WRITE_PR = "write:repository scope and read access to the repository"
_MERGE = "write:repository scope and merge rights on the base branch"
_COMMENT = "write:issue scope"
_STATUS = "write:repository scope and write access to the repository"


class GiteaForge:
    kind = "gitea"

    def __init__(
        self,
        *,
        url: str,
        repo: str,
        token: str,
        transport: httpx.AsyncBaseTransport | None = None,
        kind: str = "gitea",
    ) -> None:
        self.kind = kind
        self.repo = repo.strip("/")
        self._http = ForgeHttp(
            kind=kind,
            base_url=url.rstrip("/") + "/api/v1",
            repo=self.repo,
            headers={"Authorization": f"token {token}"},
            transport=transport,
        )
        self._repo_path = "/repos/" + "/".join(quote(p, safe="") for p in self.repo.split("/"))

    async def find_pull(self, *, head: str, base: str) -> PullRequest | None:
        items = await self._http.pages(
            f"{self._repo_path}/pulls",
            what=f"list open pull requests from {head}",
            permission=_READ_PR,
            size_param="limit",
            params={"state": "open"},
        )
        pulls = [pull_from_doc(d) for d in items]
        return next((p for p in pulls if p.head == head and p.base == base), None)

    async def get_pull(self, number: int) -> PullRequest:
        doc = await self._http.call(
            "GET",
            f"{self._repo_path}/pulls/{number}",
            what=f"read pull request #{number}",
            permission=_READ_PR,
        )
        return pull_from_doc(doc)

    async def open_pull(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        doc = await self._http.call(
            "POST",
            f"{self._repo_path}/pulls",
            what=f"open a pull request from {head} into {base}",
            permission=_WRITE_PR,
            json_body={"head": head, "base": base, "title": title, "body": body},
        )
        return pull_from_doc(doc)

    async def update_pull(self, *, number: int, title: str, body: str) -> PullRequest:
        doc = await self._http.call(
            "PATCH",
            f"{self._repo_path}/pulls/{number}",
            what=f"update pull request #{number}",
            permission=_WRITE_PR,
            json_body={"title": title, "body": body},
        )
        return pull_from_doc(doc)

    async def merge_pull(self, *, number: int) -> str:
        await self._http.call(
            "POST",
            f"{self._repo_path}/pulls/{number}/merge",
            what=f"merge pull request #{number}",
            permission=_MERGE,
            json_body={"Do": "merge"},
        )
        return (await self.get_pull(number)).merge_sha

    async def comments(self, number: int) -> tuple[Comment, ...]:
        items = await self._http.call(
            "GET",
            f"{self._repo_path}/issues/{number}/comments",
            what=f"read the comments of pull request #{number}",
            permission="read:issue scope",
        )
        return tuple(comment_from_doc(d) for d in items or ())

    async def create_comment(self, *, number: int, body: str) -> Comment:
        doc = await self._http.call(
            "POST",
            f"{self._repo_path}/issues/{number}/comments",
            what=f"comment on pull request #{number}",
            permission=_COMMENT,
            json_body={"body": body},
        )
        return comment_from_doc(doc)

    async def edit_comment(self, *, number: int, comment_id: int, body: str) -> Comment:
        doc = await self._http.call(
            "PATCH",
            f"{self._repo_path}/issues/comments/{comment_id}",
            what=f"edit comment {comment_id} on pull request #{number}",
            permission=_COMMENT,
            json_body={"body": body},
        )
        return comment_from_doc(doc)

    async def set_status(self, *, sha: str, status: CommitStatus) -> None:
        await self._http.call(
            "POST",
            f"{self._repo_path}/statuses/{sha}",
            what=f"set status {status.context} on {sha[:12]}",
            permission=_STATUS,
            json_body=status_doc(status),
        )

    async def statuses(self, sha: str) -> tuple[CommitStatus, ...]:
        doc = await self._http.call(
            "GET",
            f"{self._repo_path}/commits/{sha}/status",
            what=f"read the statuses of {sha[:12]}",
            permission=_READ_PR,
        )
        return tuple(status_from_doc(d) for d in (doc or {}).get("statuses") or ())

    async def aclose(self) -> None:
        await self._http.aclose()


# Gitea and GitHub share these shapes (Gitea's API was modelled on GitHub's).


def pull_from_doc(doc: dict[str, Any]) -> PullRequest:
    merged = bool(doc.get("merged")) or bool(doc.get("merged_at"))
    state = PullState.MERGED if merged else PullState(str(doc.get("state") or "open"))
    head = doc.get("head") or {}
    return PullRequest(
        number=int(doc["number"]),
        title=str(doc.get("title") or ""),
        body=str(doc.get("body") or ""),
        head=str(head.get("ref") or ""),
        base=str((doc.get("base") or {}).get("ref") or ""),
        head_sha=str(head.get("sha") or ""),
        state=state,
        url=str(doc.get("html_url") or ""),
        merge_sha=str(doc.get("merge_commit_sha") or "") if merged else "",
    )


def comment_from_doc(doc: dict[str, Any]) -> Comment:
    return Comment(
        id=int(doc["id"]),
        body=str(doc.get("body") or ""),
        author=str((doc.get("user") or {}).get("login") or ""),
    )


def status_doc(status: CommitStatus) -> dict[str, str]:
    return {
        "state": status.state.value,
        "context": status.context,
        "description": status.description,
        "target_url": status.target_url,
    }


def status_from_doc(doc: dict[str, Any]) -> CommitStatus:
    state = str(doc.get("state") or doc.get("status") or "pending")
    return CommitStatus(
        context=str(doc.get("context") or ""),
        state=CommitState(state)
        if state in CommitState.__members__.values()
        else CommitState.ERROR,
        description=str(doc.get("description") or ""),
        target_url=str(doc.get("target_url") or ""),
    )
