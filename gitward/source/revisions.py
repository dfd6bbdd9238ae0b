"""What a fetch produces: the commit a ref named, and a tree of files at that commit.

Both are frozen values. A :class:`Revision` keeps the ref the user asked for
next to the SHA it meant at that moment, so history and messages can say
"main at 1a2b3c4" without another lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_NEVER = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True)
class Revision:
    """A commit, and the ref it was resolved from; empty fields for a plain directory."""

    sha: str = ""
    ref: str = ""
    author: str = ""
    subject: str = ""
    committed_at: datetime = _NEVER

    @property
    def short_sha(self) -> str:
        return self.sha[:12]


@dataclass(frozen=True)
class Checkout:
    """The files of ``revision``, under ``path``.

    The tree is shared by every caller that checks out the same commit, so it
    is read-only (write bits are cleared). A step that writes next to the
    sources, such as ``helm dependency build``, must copy them first.
    """

    path: Path
    revision: Revision
