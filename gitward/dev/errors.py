"""The dev cluster's error, apart so that each part of ``dev up`` can raise it."""

from __future__ import annotations

from gitward.errors import GitwardError


class DevClusterError(GitwardError):
    pass
