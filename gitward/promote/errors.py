"""Why a promotion or a rollback stopped before it opened a pull request.

PromoteError        (GitwardError)
├── PromoteInputError  exit 2: a chart, version, app or file that is not as asked
└── PromoteRemoteError exit 3: git or the forge moved or refused under us
"""

from __future__ import annotations

from gitward.errors import ExitCode, GitwardError


class PromoteError(GitwardError):
    """A promotion or rollback that could not be made."""


class PromoteInputError(PromoteError):
    exit_code = ExitCode.INPUT


class PromoteRemoteError(PromoteError):
    exit_code = ExitCode.CLUSTER
