"""A sync of several apps: which to skip after a failure, and how the run ends.

One failed app must not stop the apps that do not need it, but an app that
depends on it (directly or through another app) would be deployed against
something broken or missing, so it is skipped and says why. The run exits
with the worst code of its apps, so a caller sees the failure without
parsing the summary.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from gitward.config.apps import AppSpec
from gitward.errors import ExitCode
from gitward.record.history import SyncOutcome


@dataclass(frozen=True)
class AppRun:
    """How one app of a run ended; ``reason`` says why it did not succeed."""

    app: str
    outcome: SyncOutcome
    reason: str = ""
    exit_code: ExitCode = ExitCode.OK

    @property
    def succeeded(self) -> bool:
        return self.outcome is SyncOutcome.SUCCEEDED


def blocker(app: AppSpec, unsuccessful: Collection[str]) -> str | None:
    """The first app ``app`` depends on that did not succeed (or was skipped), if any.

    Apps run in ``dependsOn`` order and a skipped app counts as unsuccessful, so
    checking direct dependencies is enough to skip every transitive dependent.
    """
    return next((d for d in app.depends_on if d in unsuccessful), None)


def skipped(app: AppSpec, blocked_by: str, why: SyncOutcome) -> AppRun:
    return AppRun(
        app=app.name,
        outcome=SyncOutcome.SKIPPED,
        reason=f"app {app.name}: not synced: it depends on {blocked_by}, which "
        + ("was skipped" if why is SyncOutcome.SKIPPED else f"ended {why.value}"),
        # Not a failure of its own: the run's code is that of the app that failed.
        exit_code=ExitCode.OK,
    )


def worst(runs: Iterable[AppRun]) -> ExitCode:
    """The exit code of a whole run: the highest of its apps' (0 when all succeeded)."""
    return max((r.exit_code for r in runs), default=ExitCode.OK)


__all__ = ["AppRun", "blocker", "skipped", "worst"]
