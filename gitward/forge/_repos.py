"""GitHub's and Gitea's shared shape: Gitea's API was modelled on GitHub's.

Both keep a repository under ``/repos/owner/name``, pull request comments as
issue comments, and read pull requests, comments and statuses alike.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gitward.forge._rest import Dialect, RestForge
from gitward.forge.models import Comment, CommitState, CommitStatus, PullRequest, PullState


class ReposForge(RestForge):
    """An adapter for a forge that speaks GitHub's ``/repos`` API."""

    _read_statuses: str  # the permission reading a commit's statuses needs

    def _root_path(self) -> str:
        return "/repos/" + "/".join(quote(p, safe="") for p in self.repo.split("/"))

    async def statuses(self, sha: str) -> tuple[CommitStatus, ...]:
        doc = await self._http.call(
            "GET",
            f"{self._root}/commits/{sha}/status",
            what=f"read the statuses of {sha[:12]}",
            permission=self._read_statuses,
        )
        return tuple(status_from_doc(d) for d in (doc or {}).get("statuses") or ())


def repos_dialect(*, read: str, write_pull: str, comment: str, status: str) -> Dialect:
    """GitHub's names for a pull request's parts, with one forge's permissions."""
    return Dialect(
        pull_noun="pull request",
        number_sign="#",
        comment_noun="comment",
        update_method="PATCH",
        head_field="head",
        base_field="base",
        body_field="body",
        pulls="pulls",
        comments="issues/{number}/comments",
        comment_at="issues/comments/{comment_id}",
        read=read,
        write_pull=write_pull,
        comment=comment,
        status=status,
        pull_from_doc=pull_from_doc,
        comment_from_doc=comment_from_doc,
        status_doc=status_doc,
    )


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
