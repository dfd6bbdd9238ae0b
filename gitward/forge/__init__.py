"""Forges: pull requests, comments and commit statuses, one adapter per API.

The seam is :class:`Forge` (a Protocol). Gitea (and Forgejo, which speaks
Gitea's API), GitHub and GitLab implement it over httpx; this package is the
only one besides :mod:`gitward.kube` that speaks HTTP, and it never talks to
the Kubernetes API server. Errors are :mod:`gitward.forge.errors`.
"""

from gitward.forge.comments import marker, put_comment
from gitward.forge.errors import (
    ForgeConflict,
    ForgeError,
    ForgeNotFound,
    ForgeRefused,
    ForgeUnreachable,
)
from gitward.forge.events import PullAction, PullRequestEvent, pull_request_event
from gitward.forge.models import (
    Comment,
    CommitState,
    CommitStatus,
    PullRequest,
    PullState,
    short_description,
)
from gitward.forge.opening import KINDS, ForgeSettings, forge_of, open_forge, repo_of
from gitward.forge.protocol import Forge

__all__ = [
    "KINDS",
    "Comment",
    "CommitState",
    "CommitStatus",
    "Forge",
    "ForgeConflict",
    "ForgeError",
    "ForgeNotFound",
    "ForgeRefused",
    "ForgeSettings",
    "ForgeUnreachable",
    "PullAction",
    "PullRequest",
    "PullRequestEvent",
    "PullState",
    "forge_of",
    "marker",
    "open_forge",
    "pull_request_event",
    "put_comment",
    "repo_of",
    "short_description",
]
