"""The commits of a repository gitward already has on disk: ranges and membership.

A fetched repository lives in the bare cache (``git_dir``); a local working
copy is read where it is (``directory``). Either way only local commands run
here, never a fetch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitward.programs import ProgramRun
from gitward.source.git import Git

_FULL_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Commits:
    """One repository's commit graph, as git reads it from ``git_dir`` or ``directory``."""

    git: Git
    git_dir: Path | None = None
    directory: Path | None = None

    @property
    def subject(self) -> str:
        return self.git.subject

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        settings: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> ProgramRun:
        return self.git.run(
            *args,
            git_dir=self.git_dir,
            directory=self.directory,
            env=env,
            settings=settings,
            check=check,
        )

    def has(self, sha: str) -> bool:
        """Whether ``sha`` is a commit of this repository."""
        if not _FULL_SHA.fullmatch(sha):
            return False
        return self.run("cat-file", "-e", f"{sha}^{{commit}}", check=False).ok

    def between(self, base: str, target: str) -> tuple[str, ...]:
        """Commits reachable from ``target`` and not from ``base``, oldest first."""
        run = self.run("rev-list", "--reverse", "--topo-order", target, f"^{base}", "--")
        return tuple(line for line in run.out.split() if line)

    def read(self, sha: str, path: str) -> str | None:
        """The text of ``path`` at commit ``sha``; ``None`` when either is missing."""
        if not _FULL_SHA.fullmatch(sha):
            return None
        run = self.run("cat-file", "blob", f"{sha}:{path}", check=False)
        return run.stdout.decode("utf-8", errors="replace") if run.ok else None
