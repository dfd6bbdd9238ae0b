"""Gitea's API (``/api/v1``), which Forgejo speaks too.

Permissions are named as Gitea's token scopes: pull requests and commit
statuses are ``write:repository``, comments (issue comments, on a pull
request) ``write:issue``; merging also needs write access to the base branch.
"""

from __future__ import annotations

import httpx

from gitward.forge._http import ForgeHttp
from gitward.forge._repos import ReposForge, comment_from_doc, repos_dialect
from gitward.forge.models import Comment, PullRequest

_DIALECT = repos_dialect(
    read="read:repository scope and read access to pull requests",
    write_pull="write:repository scope and read access to the repository",
    comment="write:issue scope",
    status="write:repository scope and write access to the repository",
)
_MERGE = "write:repository scope and merge rights on the base branch"


class GiteaForge(ReposForge):
    kind = "gitea"
    _dialect = _DIALECT
    _read_statuses = _DIALECT.read

    def __init__(
        self,
        *,
        url: str,
        repo: str,
        token: str,
        transport: httpx.AsyncBaseTransport | None = None,
        kind: str = "gitea",
    ) -> None:
        self.kind = kind  # Forgejo speaks Gitea's API under its own name
        super().__init__(url=url, repo=repo, token=token, transport=transport)

    def _connect(
        self, *, url: str, token: str, transport: httpx.AsyncBaseTransport | None
    ) -> ForgeHttp:
        return ForgeHttp(
            kind=self.kind,
            base_url=url.rstrip("/") + "/api/v1",
            repo=self.repo,
            headers={"Authorization": f"token {token}"},
            transport=transport,
        )

    async def find_pull(self, *, head: str, base: str) -> PullRequest | None:
        params = {"state": "open"}
        return await self._find_open(head=head, base=base, size_param="limit", params=params)

    async def merge_pull(self, *, number: int) -> str:
        await self._http.call(
            "POST",
            f"{self._pulls_path()}/{number}/merge",
            what=f"merge pull request #{number}",
            permission=_MERGE,
            json_body={"Do": "merge"},
        )
        return (await self.get_pull(number)).merge_sha

    async def comments(self, number: int) -> tuple[Comment, ...]:
        items = await self._http.call(
            "GET",
            self._comments_path(number),
            what=f"read the comments of pull request #{number}",
            permission="read:issue scope",
        )
        return tuple(comment_from_doc(d) for d in items or ())
