"""The one seam to a forge: pull requests, comments and commit statuses of one repository."""

from __future__ import annotations

from typing import Protocol

from gitward.forge.models import Comment, CommitStatus, PullRequest


class Forge(Protocol):
    """One repository on one forge, as one token sees it.

    Every method raises a :class:`~gitward.forge.errors.ForgeError`, never a
    transport exception. Absence that is expected (no open pull request for a
    branch) is ``None``.
    """

    kind: str  # "gitea", "github", "gitlab"
    repo: str  # "owner/name" (a GitLab project's full path)

    async def find_pull(self, *, head: str, base: str) -> PullRequest | None:
        """The open pull request from branch ``head`` into ``base``, if there is one."""
        ...

    async def get_pull(self, number: int) -> PullRequest: ...

    async def open_pull(self, *, head: str, base: str, title: str, body: str) -> PullRequest: ...

    async def update_pull(self, *, number: int, title: str, body: str) -> PullRequest: ...

    async def merge_pull(self, *, number: int) -> str:
        """Merge with a merge commit; the merge commit's SHA."""
        ...

    async def comments(self, number: int) -> tuple[Comment, ...]:
        """The comments on a pull request, oldest first."""
        ...

    async def create_comment(self, *, number: int, body: str) -> Comment: ...

    async def edit_comment(self, *, number: int, comment_id: int, body: str) -> Comment: ...

    async def set_status(self, *, sha: str, status: CommitStatus) -> None: ...

    async def statuses(self, sha: str) -> tuple[CommitStatus, ...]:
        """The latest status of each context on ``sha``."""
        ...

    async def aclose(self) -> None: ...
