"""Only verified commits reach the controller's reconcile; the rest are refused and shown.

A new commit at the branch head is checked before anything is rendered
(:func:`gitward.reconcile.verifying.verify_deployable`: the operator's
``--verify``, tightened by ``verify:`` in ``gitward.yaml`` as the commit and
the last deployed commits say). A refused commit is not deployed: the
controller keeps the revision it runs, and keeps self-healing towards it.
After a restart it has none in memory, so it takes the last commit the
history says was deployed. The refusal stays visible in every app's status,
the API, ``/metrics`` and the log until a commit that may deploy arrives; the
same refused commit is not checked again on every poll.
"""

from __future__ import annotations

import asyncio
import logging

from gitward.api.metrics import ControllerMetrics
from gitward.config.apps import AppSpec, RepoConfig
from gitward.config.loader import FILENAME, parse_repo_config
from gitward.errors import ConfigError
from gitward.heal.logs import event
from gitward.heal.state import ControllerOptions
from gitward.kube import Kube
from gitward.notify.notices import Notices
from gitward.reconcile.verifying import last_deployed, verify_deployable
from gitward.source import GitSource
from gitward.source.revisions import Revision
from gitward.source.verifying import CommitRefused


class CommitGate:
    """Decides which revision the controller may reconcile."""

    def __init__(
        self,
        *,
        kube: Kube,
        source: GitSource,
        options: ControllerOptions,
        metrics: ControllerMetrics,
        source_id: str,
        notices: Notices | None = None,
    ) -> None:
        self.kube = kube
        self.source = source
        self.options = options
        self.metrics = metrics
        self.source_id = source_id
        self.notices = notices or Notices(None, repo=options.repo)
        self.refused_sha = ""
        self.refusal = ""  # one line: which commit, which key, why

    async def admit(
        self, rev: Revision, *, current: Revision | None, config: RepoConfig | None
    ) -> Revision | None:
        """``rev`` if it may deploy; else the revision to keep running (``current``, or
        the last deployed one from the history), or ``None`` when there is none."""
        if current is not None and rev.sha == current.sha:
            return rev
        if rev.sha == self.refused_sha:
            return current or await self._last_deployed(config.apps if config else ())
        target = await asyncio.to_thread(self._config_at, rev.sha)
        repo_mode = target.verify if target else None
        deployed_mode = config.verify if config else None
        if not (self.options.verification.enabled or repo_mode or deployed_mode):
            self._clear()
            return rev
        apps = target.apps if target else (config.apps if config else ())
        try:
            await verify_deployable(
                self.kube,
                commits=self.source.commits(),
                sha=rev.sha,
                apps=apps,
                operator=self.options.verification,
                repo_mode=repo_mode,
                repo_line=target.verify_line if target else 0,
            )
        except (CommitRefused, ConfigError) as e:
            self._refuse(rev, e)
            return current or await self._last_deployed(apps)
        self._clear()
        return rev

    def _config_at(self, sha: str) -> RepoConfig | None:
        text = self.source.commits().read(sha, FILENAME)
        if text is None:
            return None
        try:
            return parse_repo_config(text).from_source(self.source_id)
        except ConfigError:
            return None  # the reconcile that follows reports it, naming the line

    async def _last_deployed(self, apps: tuple[AppSpec, ...]) -> Revision | None:
        deployed = await last_deployed(self.kube, apps)
        if not deployed:
            return None
        return await asyncio.to_thread(self.source.resolve, deployed[0])

    def _refuse(self, rev: Revision, error: Exception) -> None:
        # A missing key Secret is no verdict on the commit: it is checked again next poll.
        self.refused_sha = rev.sha if isinstance(error, CommitRefused) else ""
        if self.refusal != str(error):
            self.metrics.commits_refused_total.inc()
            event("commit-refused", logging.WARNING, revision=rev.sha[:12], error=str(error))
            if isinstance(error, CommitRefused):
                self.notices.commit_refused(rev.sha, str(error))
        self.refusal = str(error)
        self.metrics.commit_refused.set(1)

    def _clear(self) -> None:
        self.refused_sha = self.refusal = ""
        self.metrics.commit_refused.set(0)
