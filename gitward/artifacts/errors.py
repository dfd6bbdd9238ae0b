"""What can go wrong with an artifact store, and the exit code it means.

::

    GitwardError
    └── StoreError              a store answered in a way gitward cannot use  (exit 3)
        ├── StoreUnreachable    no connection, a timeout, a 5xx               (exit 3)
        ├── StoreRefused        the store refused the credentials (401/403)   (exit 3)
        └── VersionConflict     the version exists with other content         (exit 2)

Every message starts with the store (``registry 127.0.0.1:5000``, ``chart
repository http://…``) and never holds a credential.
"""

from __future__ import annotations

from gitward.errors import ExitCode, GitwardError


class StoreError(GitwardError):
    """A store's answer gitward cannot use."""

    exit_code = ExitCode.CLUSTER


class StoreUnreachable(StoreError):
    """The store could not be reached, timed out, or failed (5xx)."""


class StoreRefused(StoreError):
    """The store refused who we are: wrong, missing or read-only credentials."""


class VersionConflict(StoreError):
    """A published version already holds different content; versions are immutable."""

    exit_code = ExitCode.INPUT
