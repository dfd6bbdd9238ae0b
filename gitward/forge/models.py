"""What gitward reads from and writes to a forge, the same for every forge."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PullState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class CommitState(StrEnum):
    """A commit status's state, in the forge-neutral spelling (GitHub's)."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


@dataclass(frozen=True)
class PullRequest:
    """A pull request (a merge request on GitLab), by its number in the repository."""

    number: int
    title: str
    body: str
    head: str  # the branch it merges from
    base: str  # the branch it merges into
    head_sha: str
    state: PullState
    url: str = ""
    merge_sha: str = ""  # the merge commit, once merged


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    author: str = ""


@dataclass(frozen=True)
class CommitStatus:
    """One status on a commit: ``context`` names it (``gitward/preview``)."""

    context: str
    state: CommitState
    description: str = ""
    target_url: str = ""


#: How long a status description may be on every forge (GitHub's limit is the lowest).
DESCRIPTION_LIMIT = 140


def short_description(text: str) -> str:
    """``text`` on one line, cut to what every forge accepts."""
    line = " ".join(text.split())
    return line if len(line) <= DESCRIPTION_LIMIT else line[: DESCRIPTION_LIMIT - 1] + "…"
