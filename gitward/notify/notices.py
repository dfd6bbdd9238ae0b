"""The controller's events, in the controller's terms, made into notifications.

The controller calls one method per event where it happens (a sync ends, a
drift is seen or put back, a commit is refused, the health refresh runs);
each builds a :class:`~gitward.notify.events.Notification` with its links
and hands it to the :class:`~gitward.notify.notifier.Notifier`, which
returns at once. Without notification settings every call does nothing.

What makes an occurrence new, and so worth its own id:

* a sync's outcome, health degraded or recovered: once per app and revision;
* a drift: per object and the ``resourceVersion`` that drifted; its
  correction: per object and the version the correction wrote;
* a fight: per object and opposing field manager, at a revision;
* a refused commit: once per commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote

from gitward.config.apps import AppSpec
from gitward.config.notifications import EventKind
from gitward.forge import ForgeSettings
from gitward.health import HealthStatus
from gitward.notify.events import ChartLink, Notification
from gitward.notify.links import chart_links, revision_url
from gitward.notify.notifier import Notifier
from gitward.render.results import ChartDependency

#: Longest message kept: a failed sync can list every invalid object, and a message
#: waits in a ConfigMap while it is pending.
MESSAGE_LIMIT = 4000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Notices:
    def __init__(
        self,
        notifier: Notifier | None,
        *,
        repo: str,
        forge: ForgeSettings | None = None,
        public_url: str = "",
    ) -> None:
        self.notifier = notifier
        self.repo = repo
        self.forge = forge
        self.public_url = public_url.rstrip("/")
        self._charts: dict[str, tuple[ChartLink, ...]] = {}
        self._health: dict[str, HealthStatus] = {}

    @property
    def active(self) -> bool:
        """Whether any provider listens: else the controller need not work out the news."""
        return self.notifier is not None

    async def start(self) -> None:
        if self.notifier is not None:
            await self.notifier.start()

    async def stop(self) -> None:
        self._health.clear()
        if self.notifier is not None:
            await self.notifier.stop()

    # -- events ------------------------------------------------------------------------

    def sync_ended(
        self,
        spec: AppSpec,
        revision: str,
        *,
        failed_because: str = "",
        charts: Iterable[ChartDependency] = (),
    ) -> None:
        if self.notifier is None:
            return
        if not failed_because:
            self._charts[spec.name] = chart_links(charts)
        event = EventKind.SYNC_FAILED if failed_because else EventKind.SYNC_SUCCEEDED
        self._emit(event, spec, revision, message=failed_because)

    def health(self, spec: AppSpec, revision: str, status: HealthStatus, message: str = "") -> None:
        """The app's health now; a change into Degraded, or from it to Healthy, is news."""
        before = self._health.get(spec.name)
        if status in (HealthStatus.HEALTHY, HealthStatus.DEGRADED):
            self._health[spec.name] = status
        if status is HealthStatus.DEGRADED and before is not HealthStatus.DEGRADED:
            self._emit(EventKind.HEALTH_DEGRADED, spec, revision, message=message)
        elif status is HealthStatus.HEALTHY and before is HealthStatus.DEGRADED:
            self._emit(EventKind.HEALTH_RECOVERED, spec, revision)

    def drift_detected(
        self, spec: AppSpec, revision: str, *, obj: str, version: str, message: str
    ) -> None:
        self._emit(
            EventKind.DRIFT_DETECTED, spec, revision, obj=obj, version=version, message=message
        )

    def drift_corrected(
        self, spec: AppSpec, revision: str, *, obj: str, version: str, message: str
    ) -> None:
        self._emit(
            EventKind.DRIFT_CORRECTED, spec, revision, obj=obj, version=version, message=message
        )

    def fighting(
        self, spec: AppSpec, revision: str, *, obj: str, opponent: str, wait: float
    ) -> None:
        self._emit(
            EventKind.FIGHTING,
            spec,
            revision,
            obj=obj,
            version=opponent,
            message=f"field manager {opponent} keeps changing {obj}; corrections wait {wait:.0f}s",
        )

    def commit_refused(self, revision: str, reason: str) -> None:
        if self.notifier is None:
            return
        self.notifier.emit(
            Notification(
                event=EventKind.COMMIT_REFUSED,
                app="",
                key="",
                revision=revision,
                message=_cut(reason),
                revision_url=revision_url(repo=self.repo, sha=revision, forge=self.forge),
                occurred_at=_now(),
            )
        )

    # -- building ------------------------------------------------------------------------

    def _emit(
        self,
        event: EventKind,
        spec: AppSpec,
        revision: str,
        *,
        obj: str = "",
        version: str = "",
        message: str = "",
    ) -> None:
        if self.notifier is None or not revision:
            return
        app_url = f"{self.public_url}/api/v1/apps/{quote(spec.name, safe='')}"
        self.notifier.emit(
            Notification(
                event=event,
                app=spec.name,
                key=spec.id.key,
                revision=revision,
                object=f"{obj}@{version}" if version else obj,
                message=_cut(message),
                revision_url=revision_url(repo=self.repo, sha=revision, forge=self.forge),
                app_url=app_url if self.public_url else "",
                charts=self._charts.get(spec.name, ()),
                occurred_at=_now(),
            )
        )


def _cut(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"
