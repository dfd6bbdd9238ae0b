"""Pull request previews: the plan before apply, on the pull request itself.

For a pull request opened, reopened or pushed to (a verified webhook), the
controller checks out the head, finds the apps the change can affect (as it
does for a new commit on its branch, from the merge base), renders each and
dry-runs it against the live cluster with the app's own account, then edits
one comment on the pull request and sets ``gitward/preview`` on the head:
pending, then success, or failure with the first error. Nothing is written
to the cluster. A later push to the same pull request supersedes a preview
still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from gitward.config.apps import AppSpec
from gitward.config.loader import load_repo_config
from gitward.errors import GitwardError
from gitward.forge import Forge, ForgeError, PullRequestEvent, put_comment
from gitward.heal.affected import is_affected
from gitward.heal.logs import event as log_event
from gitward.heal.state import ControllerOptions
from gitward.kube import Kube
from gitward.reconcile import SyncOptions, plan_app
from gitward.render import RenderCache, render_app
from gitward.review import previews
from gitward.review.markdown import AppPreview
from gitward.source import GitSource
from gitward.tenancy import client_for

log = logging.getLogger("gitward.controller")


def head_ref(event: PullRequestEvent) -> str:
    """Where the forge keeps a pull request's head, whichever repository it came from."""
    if event.forge == "gitlab":
        return f"refs/merge-requests/{event.number}/head"
    return f"refs/pull/{event.number}/head"


@dataclass(frozen=True)
class PreviewDone:
    number: int
    sha: str
    apps: tuple[str, ...]
    failed: bool
    seconds: float


class Previewer:
    """Runs one preview per pull request at a time; the newest push wins."""

    def __init__(
        self,
        *,
        kube: Kube,
        source: GitSource,
        source_id: str,
        forge: Forge,
        options: ControllerOptions,
        target_url: str = "",
    ) -> None:
        self.kube = kube
        self.source = source
        self.source_id = source_id
        self.forge = forge
        self.options = options
        self.target_url = target_url
        self._tasks: dict[int, asyncio.Task[PreviewDone | None]] = {}
        self._cache = RenderCache()
        self.done: list[PreviewDone] = []

    def submit(self, event: PullRequestEvent) -> asyncio.Task[PreviewDone | None]:
        older = self._tasks.get(event.number)
        if older is not None and not older.done():
            older.cancel()
        task = asyncio.create_task(self._guarded(event), name=f"preview #{event.number}")
        self._tasks[event.number] = task
        return task

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _guarded(self, event: PullRequestEvent) -> PreviewDone | None:
        try:
            done = await self.preview(event)
        except ForgeError as e:
            log_event("preview-failed", logging.WARNING, pr=str(event.number), error=str(e))
            return None
        self.done.append(done)
        return done

    async def preview(self, event: PullRequestEvent) -> PreviewDone:
        started = time.monotonic()
        await self.forge.set_status(sha=event.head_sha, status=previews.pending(0, self.target_url))
        try:
            sha, results = await self._plan(event)
        except GitwardError as e:
            # The head cannot even be read (git, gitward.yaml): that is the preview.
            sha, results = event.head_sha, (AppPreview(app="gitward.yaml", error=str(e)),)
        if results:
            status = previews.outcome(results, self.target_url)
        else:
            status = previews.no_app_affected(self.target_url)
        await put_comment(
            self.forge,
            number=event.number,
            purpose=previews.PURPOSE,
            body=previews.comment(head_sha=sha, previews=results),
        )
        await self.forge.set_status(sha=sha, status=status)
        failed = any(p.failed for p in results)
        log_event(
            "previewed",
            logging.WARNING if failed else logging.INFO,
            pr=str(event.number),
            revision=sha[:12],
            apps=",".join(p.app for p in results) or "-",
            result=status.state.value,
            duration=f"{time.monotonic() - started:.3f}s",
        )
        return PreviewDone(
            number=event.number,
            sha=sha,
            apps=tuple(p.app for p in results),
            failed=failed,
            seconds=time.monotonic() - started,
        )

    async def _plan(self, event: PullRequestEvent) -> tuple[str, tuple[AppPreview, ...]]:
        head = await asyncio.to_thread(self.source.checkout, head_ref(event))
        base = await asyncio.to_thread(self.source.resolve, event.base)
        start = await asyncio.to_thread(self.source.merge_base, base.sha, head.revision.sha)
        changed = await asyncio.to_thread(self.source.changed_paths, start, head.revision.sha)
        config = load_repo_config(head.path).from_source(self.source_id)
        affected = [s for s in config.apps if is_affected(s, head.path, changed)]
        results = [await self._plan_app(spec, head.path) for spec in affected]
        return head.revision.sha, tuple(results)

    async def _plan_app(self, spec: AppSpec, root: Path) -> AppPreview:
        try:
            rendered = await asyncio.to_thread(render_app, app=spec, root=root, cache=self._cache)
            plan, _ = await plan_app(
                kube=self.kube,
                app=spec,
                manifests=rendered.manifests,
                options=SyncOptions(
                    concurrency=self.options.concurrency, policy=self.options.tenancy.policy
                ),
                as_app=client_for(kube=self.kube, app=spec, tenancy=self.options.tenancy),
            )
        except GitwardError as e:
            return AppPreview(app=spec.name, error=str(e))
        return AppPreview(app=spec.name, plan=plan)
