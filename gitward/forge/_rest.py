"""What the three REST adapters share: one call shape per operation.

Each forge names the same operations with its own paths, nouns, body fields
and permissions; an adapter says those and how to read its documents, and
the calls themselves are written once here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gitward.forge._http import ForgeHttp
from gitward.forge.models import Comment, CommitStatus, PullRequest


@dataclass(frozen=True)
class Dialect:
    """How one forge names a pull request's parts and what each call needs."""

    pull_noun: str  # "pull request" or "merge request"
    number_sign: str  # "#" or "!", before the number people see
    comment_noun: str  # "comment" or "note"
    update_method: str  # how a pull request or a comment is edited
    head_field: str
    base_field: str
    body_field: str
    pulls: str  # the pull requests' collection, below the repository
    comments: str  # a pull request's comments: a template of ``number``
    comment_at: str  # one comment: a template of ``number`` and ``comment_id``
    read: str
    write_pull: str
    comment: str
    status: str
    pull_from_doc: Callable[[dict[str, Any]], PullRequest]
    comment_from_doc: Callable[[dict[str, Any]], Comment]
    status_doc: Callable[[CommitStatus], dict[str, str]]


class RestForge:
    """A forge adapter over :class:`ForgeHttp`; subclasses say how to connect and where."""

    kind: str
    repo: str
    _dialect: Dialect

    def __init__(
        self,
        *,
        url: str,
        repo: str,
        token: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.repo = repo.strip("/")
        self._http = self._connect(url=url, token=token, transport=transport)
        self._root = self._root_path()

    # What each forge says differently.

    def _connect(
        self, *, url: str, token: str, transport: httpx.AsyncBaseTransport | None
    ) -> ForgeHttp:
        raise NotImplementedError

    def _root_path(self) -> str:
        """Where the repository's API lives, below the API's base URL."""
        raise NotImplementedError

    def _pulls_path(self) -> str:
        return f"{self._root}/{self._dialect.pulls}"

    def _comments_path(self, number: int) -> str:
        return f"{self._root}/" + self._dialect.comments.format(number=number)

    def _comment_path(self, number: int, comment_id: int) -> str:
        at = self._dialect.comment_at.format(number=number, comment_id=comment_id)
        return f"{self._root}/{at}"

    def _pull_name(self, number: int) -> str:
        return f"{self._dialect.pull_noun} {self._dialect.number_sign}{number}"

    # The calls, written once.

    async def _find_open(
        self, *, head: str, base: str, size_param: str, params: dict[str, str]
    ) -> PullRequest | None:
        items = await self._http.pages(
            self._pulls_path(),
            what=f"list open {self._dialect.pull_noun}s from {head}",
            permission=self._dialect.read,
            size_param=size_param,
            params=params,
        )
        pulls = [self._dialect.pull_from_doc(d) for d in items]
        return next((p for p in pulls if p.head == head and p.base == base), None)

    async def get_pull(self, number: int) -> PullRequest:
        doc = await self._http.call(
            "GET",
            f"{self._pulls_path()}/{number}",
            what=f"read {self._pull_name(number)}",
            permission=self._dialect.read,
        )
        return self._dialect.pull_from_doc(doc)

    async def open_pull(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        d = self._dialect
        doc = await self._http.call(
            "POST",
            self._pulls_path(),
            what=f"open a {d.pull_noun} from {head} into {base}",
            permission=d.write_pull,
            json_body={d.head_field: head, d.base_field: base, "title": title, d.body_field: body},
        )
        return self._dialect.pull_from_doc(doc)

    async def update_pull(self, *, number: int, title: str, body: str) -> PullRequest:
        d = self._dialect
        doc = await self._http.call(
            d.update_method,
            f"{self._pulls_path()}/{number}",
            what=f"update {self._pull_name(number)}",
            permission=d.write_pull,
            json_body={"title": title, d.body_field: body},
        )
        return self._dialect.pull_from_doc(doc)

    async def create_comment(self, *, number: int, body: str) -> Comment:
        doc = await self._http.call(
            "POST",
            self._comments_path(number),
            what=f"comment on {self._pull_name(number)}",
            permission=self._dialect.comment,
            json_body={"body": body},
        )
        return self._dialect.comment_from_doc(doc)

    async def edit_comment(self, *, number: int, comment_id: int, body: str) -> Comment:
        d = self._dialect
        doc = await self._http.call(
            d.update_method,
            self._comment_path(number, comment_id),
            what=f"edit {d.comment_noun} {comment_id} on {self._pull_name(number)}",
            permission=d.comment,
            json_body={"body": body},
        )
        return self._dialect.comment_from_doc(doc)

    async def set_status(self, *, sha: str, status: CommitStatus) -> None:
        await self._http.call(
            "POST",
            f"{self._root}/statuses/{sha}",
            what=f"set status {status.context} on {sha[:12]}",
            permission=self._dialect.status,
            json_body=self._dialect.status_doc(status),
        )

    async def aclose(self) -> None:
        await self._http.aclose()
