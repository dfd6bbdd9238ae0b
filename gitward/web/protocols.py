"""What the UI asks of the controller behind it.

The UI reads the controller's memory (apps, the objects it tracks with their
desired and live bodies, drift) through :class:`UiSource`, which the
controller implements beside the API's
:class:`~gitward.api.protocols.StatusSource`. What memory does not hold (the
Pods a Deployment made, Events) it reads through the controller's own
:class:`~gitward.kube.Kube` client (:mod:`gitward.web.cluster`): the UI never
opens a connection of its own to the API server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gitward.api.protocols import StatusSource
from gitward.kube import Kube
from gitward.objects import Body, ObjectRef
from gitward.promote.rollback import Rollback
from gitward.source.revisions import Revision

__all__ = ["ObjectState", "UiSource"]


@dataclass(frozen=True)
class ObjectState:
    """One object an app manages: what git wants and what the cluster has."""

    ref: ObjectRef
    api_version: str
    #: The body gitward applies (rendered from the app's revision in git).
    desired: Body
    #: The body the controller's watch saw last; ``None`` when it does not exist.
    live: Body | None
    #: JSON pointers the app ignores: out of the diff as they are out of apply.
    ignore: tuple[str, ...] = ()


class UiSource(StatusSource, Protocol):
    """The controller as the UI sees it. Every method is cheap (memory only)."""

    @property
    def kube(self) -> Kube:
        """The controller's client, for reads the controller's memory does not answer."""
        ...

    def repo_url(self) -> str:
        """The config repository's URL, with no credentials in it."""
        ...

    def repo_revision(self) -> Revision | None:
        """The commit the controller last read from git; ``None`` before the first fetch."""
        ...

    def objects(self, name: str) -> Sequence[ObjectState]:
        """The objects app ``name`` manages, in a stable order."""
        ...

    def request_sync(self, name: str) -> str:
        """Sync app ``name`` now (even without autoSync); empty, or why it cannot."""
        ...

    def request_refresh(self) -> str:
        """Fetch git and reconcile now; empty, or why it cannot."""
        ...

    def rollback_refusal(self) -> str:
        """Why no rollback pull request can be opened from here; empty when one can."""
        ...

    async def rollback(self, name: str, to: str) -> Rollback:
        """Open (or update) the pull request rolling app ``name`` back to revision ``to``.

        Raises :class:`~gitward.promote.errors.PromoteInputError` when it cannot
        be made as asked (a conflict, a revision not recorded), another
        :class:`~gitward.errors.GitwardError` when git or the forge failed.
        """
        ...
