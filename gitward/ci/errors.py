"""The build side's own errors (store errors live in :mod:`gitward.artifacts.errors`)."""

from __future__ import annotations

from gitward.errors import ExitCode, GitwardError


class CiInputError(GitwardError):
    """The code repository, its config or its build failed: nothing was pushed."""

    exit_code = ExitCode.INPUT


class BuildFailed(CiInputError):
    """The image build failed; carries the log's last lines for the CLI."""

    def __init__(self, message: str, *, tail: tuple[str, ...] = (), log: str = "") -> None:
        super().__init__(message)
        self.tail = tail
        self.log = log
