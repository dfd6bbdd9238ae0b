"""What can go wrong talking to a forge, as gitward's own errors.

httpx exceptions never leave :mod:`gitward.forge`: every answer that is not
the one asked for becomes one of these, with one line that names the forge,
the repository, what was being done and why it failed::

    ForgeError                 (exit 3: a remote refused or failed)
    ├── ForgeUnreachable       no answer, a transport error or a 5xx; temporary
    ├── ForgeRefused           401/403: the token, naming the permission it lacks
    ├── ForgeNotFound          404: the repository, pull request or commit (exit 2)
    └── ForgeConflict          409/405/422: the forge would not do it in this state
"""

from __future__ import annotations

from gitward.errors import ExitCode, GitwardError


class ForgeError(GitwardError):
    """A forge did not do what was asked."""

    exit_code = ExitCode.CLUSTER


class ForgeUnreachable(ForgeError):
    """The forge could not be reached, or failed on its side."""


class ForgeRefused(ForgeError):
    """The token was rejected or lacks a permission; the message names it."""


class ForgeNotFound(ForgeError):
    """What was named does not exist, or the token cannot see it."""

    exit_code = ExitCode.INPUT


class ForgeConflict(ForgeError):
    """The forge refused the change in the state things are in (a merge, a stale head)."""
