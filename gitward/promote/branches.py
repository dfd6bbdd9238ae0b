"""What promoting and rolling back share: a branch pushed with a lease, then its pull request."""

from __future__ import annotations

from pathlib import Path

from gitward.forge import Forge, PullRequest
from gitward.promote.errors import PromoteInputError, PromoteRemoteError
from gitward.promote.gitwork import Clone


def fetch_both(clone: Clone, *, base: str, branch: str) -> tuple[str, str | None]:
    """The base branch's SHA (it must exist) and the pull request branch's, if pushed before."""
    base_sha = clone.fetch(base)
    if base_sha is None:
        raise PromoteInputError(f"{clone.origin}: has no branch {base}")
    return base_sha, clone.fetch(branch)


def push_once(
    clone: Clone,
    tree: Path,
    sha: str,
    branch: str,
    remote: str | None,
    *,
    attempt: int,
    doing: str,
) -> bool:
    """Push ``sha`` to ``branch`` unless it already holds the change; ``False``: try again.

    The push leases on ``remote``: when someone else moved the branch since,
    the first attempt says so and the second raises.
    """
    unchanged = remote is not None and clone.same_change(sha, remote)
    if unchanged or clone.push(tree, branch=branch, lease=remote):
        return True
    if attempt == 1:
        return False
    raise PromoteRemoteError(
        f"{clone.origin}: branch {branch} moved while {doing}, twice "
        "(someone else pushed to it); nothing was changed, try again"
    )


async def open_or_update(
    forge: Forge, pull: PullRequest | None, *, branch: str, base: str, title: str, body: str
) -> tuple[str, PullRequest]:
    """``("opened" | "up-to-date" | "updated", the pull request)``."""
    if pull is None:
        return "opened", await forge.open_pull(head=branch, base=base, title=title, body=body)
    if (pull.title, pull.body.strip()) == (title, body.strip()):
        return "up-to-date", pull
    return "updated", await forge.update_pull(number=pull.number, title=title, body=body)
