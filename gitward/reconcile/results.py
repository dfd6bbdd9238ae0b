"""What a sync is asked to do and what it did: options, results, and its errors."""

from __future__ import annotations

from dataclasses import dataclass

from gitward.apply.changes import Change, ChangeSet
from gitward.config.tenancy import Policy
from gitward.errors import ExitCode, GitwardError, PlanError
from gitward.health import Health
from gitward.kube import KubeError
from gitward.plan.inventory import Inventory
from gitward.plan.model import ObjectError, Plan
from gitward.record import history
from gitward.record.history import SyncOutcome
from gitward.source.revisions import Revision


@dataclass(frozen=True)
class SyncOptions:
    dry_run: bool = False
    wait: bool = False
    timeout: float = 300.0
    # Git wins for the fields git sets, as in Flux's and Argo CD's server-side apply.
    force_conflicts: bool = True
    concurrency: int = 16
    history_limit: int = history.DEFAULT_LIMIT
    adopt: bool = False  # take the app over from the source its records name
    policy: Policy | None = None  # the operator's allow-list (gitward.config.tenancy)
    # Pruning a CRD deletes every custom resource of its kind: only when asked.
    allow_crd_prune: bool = False


@dataclass(frozen=True)
class SyncResult:
    app: str
    revision: Revision
    plan: Plan
    changes: ChangeSet | None = None
    health: Health | None = None
    duration_seconds: float = 0.0
    recorded: bool = False
    # When the history record that tells this sync's story started: its own, or the
    # newest one that a no-op repeats. Empty for a dry run.
    recorded_at: str = ""
    inventory: Inventory | None = None  # as the sync left it in the cluster
    outcome: SyncOutcome = SyncOutcome.SUCCEEDED
    reason: str = ""  # why it did not succeed: one line that starts with the app
    exit_code: ExitCode = ExitCode.OK

    @property
    def succeeded(self) -> bool:
        return self.outcome is SyncOutcome.SUCCEEDED


class PlanInvalid(PlanError):
    """The plan has errors; ``errors`` lists every one. Nothing was applied."""

    def __init__(self, app: str, errors: tuple[ObjectError, ...]):
        first = str(errors[0])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # An app-level error already starts with "app X:".
        prefix = "" if first.startswith(f"app {app}:") else f"app {app}: "
        super().__init__(f"{prefix}{first}{more}; nothing was applied")
        self.errors = errors


class RecordsOwnedElsewhere(PlanError):
    """The app's records name another source; nothing was applied."""


def exit_code_of(error: GitwardError) -> ExitCode:
    """The exit code an error implies (README: Exit codes)."""
    if isinstance(error, KubeError):
        return ExitCode.CLUSTER
    return ExitCode(error.exit_code)


def failure_reason(app: str, failed: tuple[Change, ...]) -> str:
    """One line naming the first few failed objects and why."""
    shown = "; ".join(f"{c.ref}: {c.message}" for c in failed[:3])
    more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
    return f"app {app}: {shown}{more}"
