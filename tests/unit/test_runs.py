"""A run over several apps: who is skipped after a failure, and the run's exit code."""

from __future__ import annotations

from gitward.config.apps import AppSpec
from gitward.errors import ExitCode
from gitward.record.history import SyncOutcome
from gitward.runs import AppRun, blocker, skipped, worst


def app(name: str, *deps: str) -> AppSpec:
    return AppSpec(name=name, path=name, namespace="ns", depends_on=deps)


def test_an_app_is_blocked_by_the_first_dependency_that_did_not_succeed() -> None:
    assert blocker(app("web", "db", "cache"), {"cache": SyncOutcome.FAILED}) == "cache"
    assert blocker(app("web", "db"), {}) is None
    assert blocker(app("other"), {"db": SyncOutcome.FAILED}) is None


def test_dependents_of_a_failure_are_skipped_transitively_in_dependency_order() -> None:
    apps = [app("db"), app("api", "db"), app("web", "api"), app("docs")]
    outcomes = {"db": AppRun("db", SyncOutcome.FAILED, "app db: boom", ExitCode.CLUSTER)}
    unsuccessful = {"db": SyncOutcome.FAILED}
    for spec in apps[1:]:
        by = blocker(spec, unsuccessful)
        run = (
            skipped(spec, by, unsuccessful[by]) if by else AppRun(spec.name, SyncOutcome.SUCCEEDED)
        )
        outcomes[spec.name] = run
        if not run.succeeded:
            unsuccessful[spec.name] = run.outcome

    assert {n: r.outcome for n, r in outcomes.items()} == {
        "db": SyncOutcome.FAILED,
        "api": SyncOutcome.SKIPPED,
        "web": SyncOutcome.SKIPPED,
        "docs": SyncOutcome.SUCCEEDED,
    }
    assert outcomes["api"].reason == "app api: not synced: it depends on db, which ended failed"
    assert outcomes["web"].reason == "app web: not synced: it depends on api, which was skipped"
    assert worst(outcomes.values()) is ExitCode.CLUSTER


def test_a_run_exits_with_the_worst_code_of_its_apps_and_zero_when_all_succeed() -> None:
    ok = AppRun("a", SyncOutcome.SUCCEEDED)
    invalid = AppRun("b", SyncOutcome.FAILED, "x", ExitCode.INPUT)
    degraded = AppRun("c", SyncOutcome.DEGRADED, "y", ExitCode.HEALTH)
    assert worst([ok]) is ExitCode.OK
    assert worst([]) is ExitCode.OK
    assert worst([ok, invalid, degraded]) is ExitCode.HEALTH
    assert worst([invalid, ok]) is ExitCode.INPUT
