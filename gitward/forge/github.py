"""GitHub's REST API (``https://api.github.com``, or GitHub Enterprise's ``/api/v3``).

Permissions are named as fine-grained token permissions; when GitHub says
which it wanted (``X-Accepted-GitHub-Permissions``), that is what the error
names.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from gitward.forge._http import ForgeHttp
from gitward.forge.gitea import comment_from_doc, pull_from_doc, status_doc, status_from_doc
from gitward.forge.models import Comment, CommitStatus, PullRequest

API_VERSION = "2022-11-28"
_READ_PR = "pull_requests=read"
_WRITE_PR = "pull_requests=write"
_MERGE = "contents=write"
_COMMENT = "pull_requests=write (or issues=write)"
_STATUS = "statuses=write"


def accepted_permissions(response: httpx.Response) -> str | None:
    """What GitHub says the call needs: ``a=write; b=admin`` means either set."""
    said = response.headers.get("x-accepted-github-permissions", "").strip()
    if said:
        return " or ".join(part.strip() for part in said.split(";") if part.strip())
    scopes = response.headers.get("x-accepted-oauth-scopes", "").strip()
    return f"one of the scopes {scopes}" if scopes else None


class GitHubForge:
    kind = "github"

    def __init__(
        self,
        *,
        url: str,
        repo: str,
        token: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.repo = repo.strip("/")
        self._owner = self.repo.split("/", 1)[0]
        self._http = ForgeHttp(
            kind="github",
            base_url=url,
            repo=self.repo,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
            },
            transport=transport,
            permission_hint=accepted_permissions,
        )
        self._repo_path = "/repos/" + "/".join(quote(p, safe="") for p in self.repo.split("/"))

    async def find_pull(self, *, head: str, base: str) -> PullRequest | None:
        items = await self._http.pages(
            f"{self._repo_path}/pulls",
            what=f"list open pull requests from {head}",
            permission=_READ_PR,
            size_param="per_page",
            params={"state": "open", "head": f"{self._owner}:{head}", "base": base},
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
        doc = await self._http.call(
            "PUT",
            f"{self._repo_path}/pulls/{number}/merge",
            what=f"merge pull request #{number}",
            permission=_MERGE,
            json_body={"merge_method": "merge"},
        )
        return str((doc or {}).get("sha") or "")

    async def comments(self, number: int) -> tuple[Comment, ...]:
        items = await self._http.pages(
            f"{self._repo_path}/issues/{number}/comments",
            what=f"read the comments of pull request #{number}",
            permission=_READ_PR,
            size_param="per_page",
            size=100,
        )
        return tuple(comment_from_doc(d) for d in items)

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
            permission="statuses=read",
        )
        return tuple(status_from_doc(d) for d in (doc or {}).get("statuses") or ())

    async def aclose(self) -> None:
        await self._http.aclose()
