"""GitLab's REST API (``/api/v4``): merge requests are its pull requests.

A merge request is known by its ``iid`` (the number people see), comments
are notes, and a commit status's context is its ``name``. GitLab has no
``error`` state: gitward's failure and error both become ``failed``.
Permissions are named as GitLab's: the ``api`` token scope and a project role.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from gitward.forge._http import ForgeHttp
from gitward.forge._rest import Dialect, RestForge
from gitward.forge.models import Comment, CommitState, CommitStatus, PullRequest, PullState

_READ = "the read_api scope and at least the Reporter role"
_WRITE_MR = "the api scope and at least the Developer role"
_MERGE = "the api scope and a role allowed to merge into the target branch"
_TO_GITLAB = {
    CommitState.PENDING: "pending",
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failed",
    CommitState.ERROR: "failed",
}
_FROM_GITLAB = {
    "pending": CommitState.PENDING,
    "created": CommitState.PENDING,
    "running": CommitState.PENDING,
    "success": CommitState.SUCCESS,
    "failed": CommitState.FAILURE,
    "canceled": CommitState.ERROR,
    "skipped": CommitState.ERROR,
}
_STATES = {"opened": PullState.OPEN, "closed": PullState.CLOSED, "locked": PullState.CLOSED}


def status_doc(status: CommitStatus) -> dict[str, str]:
    return {
        "state": _TO_GITLAB[status.state],
        "name": status.context,
        "description": status.description,
        "target_url": status.target_url,
    }


def pull_from_doc(doc: dict[str, Any]) -> PullRequest:
    state = str(doc.get("state") or "opened")
    return PullRequest(
        number=int(doc["iid"]),
        title=str(doc.get("title") or ""),
        body=str(doc.get("description") or ""),
        head=str(doc.get("source_branch") or ""),
        base=str(doc.get("target_branch") or ""),
        head_sha=str(doc.get("sha") or ""),
        state=PullState.MERGED if state == "merged" else _STATES.get(state, PullState.OPEN),
        url=str(doc.get("web_url") or ""),
        merge_sha=str(doc.get("merge_commit_sha") or ""),
    )


def comment_from_doc(doc: dict[str, Any]) -> Comment:
    return Comment(
        id=int(doc["id"]),
        body=str(doc.get("body") or ""),
        author=str((doc.get("author") or {}).get("username") or ""),
    )


_DIALECT = Dialect(
    pull_noun="merge request",
    number_sign="!",
    comment_noun="note",
    update_method="PUT",
    head_field="source_branch",
    base_field="target_branch",
    body_field="description",
    pulls="merge_requests",
    comments="merge_requests/{number}/notes",
    comment_at="merge_requests/{number}/notes/{comment_id}",
    read=_READ,
    write_pull=_WRITE_MR,
    comment=_WRITE_MR,
    status="the api scope and at least the Developer role",
    pull_from_doc=pull_from_doc,
    comment_from_doc=comment_from_doc,
    status_doc=status_doc,
)


class GitLabForge(RestForge):
    kind = "gitlab"
    _dialect = _DIALECT

    def _connect(
        self, *, url: str, token: str, transport: httpx.AsyncBaseTransport | None
    ) -> ForgeHttp:
        base = url.rstrip("/")
        return ForgeHttp(
            kind="gitlab",
            base_url=base if base.endswith("/api/v4") else base + "/api/v4",
            repo=self.repo,
            headers={"PRIVATE-TOKEN": token},
            transport=transport,
        )

    def _root_path(self) -> str:
        return "/projects/" + quote(self.repo, safe="")

    async def find_pull(self, *, head: str, base: str) -> PullRequest | None:
        params = {"state": "opened", "source_branch": head, "target_branch": base}
        return await self._find_open(head=head, base=base, size_param="per_page", params=params)

    async def merge_pull(self, *, number: int) -> str:
        doc = await self._http.call(
            "PUT",
            f"{self._pulls_path()}/{number}/merge",
            what=f"merge merge request !{number}",
            permission=_MERGE,
        )
        return str((doc or {}).get("merge_commit_sha") or "")

    async def comments(self, number: int) -> tuple[Comment, ...]:
        items = await self._http.pages(
            self._comments_path(number),
            what=f"read the notes of merge request !{number}",
            permission=_READ,
            size_param="per_page",
            size=100,
            params={"sort": "asc", "order_by": "created_at"},
        )
        # System notes ("added 1 commit") are GitLab's, not comments anyone wrote.
        return tuple(comment_from_doc(d) for d in items if not d.get("system"))

    async def statuses(self, sha: str) -> tuple[CommitStatus, ...]:
        items = await self._http.pages(
            f"{self._root}/repository/commits/{sha}/statuses",
            what=f"read the statuses of {sha[:12]}",
            permission=_READ,
            size_param="per_page",
            size=100,
            params={"all": "true"},
        )
        latest: dict[str, dict[str, Any]] = {}
        for doc in sorted(items, key=lambda d: int(d.get("id") or 0)):
            latest[str(doc.get("name") or "")] = doc
        return tuple(
            CommitStatus(
                context=name,
                state=_FROM_GITLAB.get(str(doc.get("status")), CommitState.ERROR),
                description=str(doc.get("description") or ""),
                target_url=str(doc.get("target_url") or ""),
            )
            for name, doc in latest.items()
        )
