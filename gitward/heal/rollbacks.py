"""Rollback pull requests the controller opens when someone asks in the UI.

It is ``gitward rollback`` (:mod:`gitward.promote.rollback`) with the
controller's settings: the config repository and branch it deploys, the
forge of ``--forge-url``, and the promoter's token, given to the controller
apart from its own forge token (``--rollback-token-file`` or
``$GITWARD_FORGE_TOKEN_PROMOTER``): the controller's own token only comments
and sets statuses, and may not push branches or open pull requests.

The work happens in a bare clone of gitward's own under the cache, one
rollback at a time. git runs as programs, so the rollback runs in a worker
thread with a loop of its own (and a forge client of its own): reconciling
and healing go on meanwhile. The history it chooses from is read first, on
the controller's loop, through the controller's client.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from gitward.config.apps import AppSpec
from gitward.forge import ForgeSettings
from gitward.kube import Kube, KubeError
from gitward.promote.errors import PromoteInputError, PromoteRemoteError
from gitward.promote.gitwork import Clone
from gitward.promote.rollback import Rollback, RollbackRequest, rollback
from gitward.record import apprecords
from gitward.record.history import SyncRecord
from gitward.source.credentials import GitCredentials
from gitward.source.urls import parse_url

log = logging.getLogger("gitward.controller")

NO_FORGE = "the controller has no forge: start it with --forge-url (and --forge)"
NO_TOKEN = (
    "the controller has no promoter token to open pull requests with: "
    "start it with --rollback-token-file or $GITWARD_FORGE_TOKEN_PROMOTER"
)


@dataclass(frozen=True)
class RollbackSettings:
    """What the controller opens rollback pull requests with."""

    #: The config repository, as the controller fetches it.
    repo: str
    #: The branch the controller deploys: pull requests go into it.
    base: str
    #: The forge of ``--forge-url``; ``None``: no rollback from the UI.
    forge: ForgeSettings | None
    #: The promoter's token: pushes the branch and opens the pull request.
    token: str = field(default="", repr=False)
    #: The basic-auth user for git over HTTP.
    username: str = "gitward"
    allow_insecure: bool = False

    def refusal(self) -> str:
        """Why no rollback can be opened; empty when one can."""
        if self.forge is None:
            return NO_FORGE
        if not self.token:
            return NO_TOKEN
        return ""


class _Recorded:
    """The history read on the controller's loop, handed to the rollback in its thread."""

    def __init__(self, key: str, records: list[SyncRecord]) -> None:
        self._key = key
        self._records = records

    async def history(self, app: AppSpec) -> list[SyncRecord]:
        if app.id.key != self._key:
            raise PromoteInputError(
                f"app {app.name}: is app {app.id.key} in git now, not {self._key}; reload the page"
            )
        return self._records


class ControllerRollbacks:
    def __init__(self, *, kube: Kube, settings: RollbackSettings, workdir: Path) -> None:
        self._kube = kube
        self._settings = settings
        self._workdir = workdir / parse_url(settings.repo).key
        self._lock = asyncio.Lock()

    def refusal(self) -> str:
        return self._settings.refusal()

    async def open(self, spec: AppSpec, *, to: str) -> Rollback:
        """Open (or update) the pull request rolling ``spec`` back to revision ``to``."""
        if reason := self.refusal():
            raise PromoteInputError(f"app {spec.name}: {reason}")
        try:
            records = list((await apprecords.load(self._kube, spec.id.key)).history)
        except KubeError as e:
            raise PromoteRemoteError(f"app {spec.name}: history unavailable: {e}") from e
        request = RollbackRequest(app=spec.name, to=to, base=self._settings.base)
        async with self._lock:
            done = await asyncio.to_thread(
                asyncio.run, self._open(request, _Recorded(spec.id.key, records))
            )
        log.info("ui: rollback of app %s to %s: %s", spec.name, to[:12], done.message)
        return done

    async def _open(self, request: RollbackRequest, history: _Recorded) -> Rollback:
        settings = self._settings
        assert settings.forge is not None
        credentials = GitCredentials(
            token=settings.token,
            username=settings.username,
            allow_insecure=settings.allow_insecure,
        )
        clone = Clone.private(path=self._workdir, origin=settings.repo, credentials=credentials)
        forge = ForgeSettings(
            kind=settings.forge.kind,
            url=settings.forge.url,
            repo=settings.forge.repo,
            token=settings.token,
        ).open()
        try:
            return await rollback(clone=clone, forge=forge, cluster=history, request=request)
        finally:
            await forge.aclose()
