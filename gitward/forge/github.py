"""GitHub's REST API (``https://api.github.com``, or GitHub Enterprise's ``/api/v3``).

Permissions are named as fine-grained token permissions; when GitHub says
which it wanted (``X-Accepted-GitHub-Permissions``), that is what the error
names.
"""

from __future__ import annotations

import httpx

from gitward.forge._http import ForgeHttp
from gitward.forge._repos import ReposForge, comment_from_doc, repos_dialect
from gitward.forge.models import Comment, PullRequest

API_VERSION = "2022-11-28"
_DIALECT = repos_dialect(
    read="pull_requests=read",
    write_pull="pull_requests=write",
    comment="pull_requests=write (or issues=write)",
    status="statuses=write",
)
_MERGE = "contents=write"


def accepted_permissions(response: httpx.Response) -> str | None:
    """What GitHub says the call needs: ``a=write; b=admin`` means either set."""
    said = response.headers.get("x-accepted-github-permissions", "").strip()
    if said:
        return " or ".join(part.strip() for part in said.split(";") if part.strip())
    scopes = response.headers.get("x-accepted-oauth-scopes", "").strip()
    return f"one of the scopes {scopes}" if scopes else None


class GitHubForge(ReposForge):
    kind = "github"
    _dialect = _DIALECT
    _read_statuses = "statuses=read"

    def _connect(
        self, *, url: str, token: str, transport: httpx.AsyncBaseTransport | None
    ) -> ForgeHttp:
        return ForgeHttp(
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

    async def find_pull(self, *, head: str, base: str) -> PullRequest | None:
        params = {"state": "open", "head": f"{self.repo.split('/', 1)[0]}:{head}", "base": base}
        return await self._find_open(head=head, base=base, size_param="per_page", params=params)

    async def merge_pull(self, *, number: int) -> str:
        doc = await self._http.call(
            "PUT",
            f"{self._pulls_path()}/{number}/merge",
            what=f"merge pull request #{number}",
            permission=_MERGE,
            json_body={"merge_method": "merge"},
        )
        return str((doc or {}).get("sha") or "")

    async def comments(self, number: int) -> tuple[Comment, ...]:
        items = await self._http.pages(
            self._comments_path(number),
            what=f"read the comments of pull request #{number}",
            permission=_DIALECT.read,
            size_param="per_page",
            size=100,
        )
        return tuple(comment_from_doc(d) for d in items)
