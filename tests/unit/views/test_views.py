"""The public JSON shape: one spelling, one version, for every document gitward shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gitward.errors import ExitCode
from gitward.health import Health, HealthStatus
from gitward.record.drifts import DriftKind, DriftOutcome, DriftRecord
from gitward.record.history import ObjectAction, SyncOutcome, SyncRecord
from gitward.runs import AppRun
from gitward.status import AppStatus, ObjectStatus, SyncState
from gitward.views import (
    API_VERSION,
    ControlledApp,
    ObjectHealth,
    camel_case,
    controlled_app_detail_view,
    controlled_app_view,
    drift_view,
    encode,
    history_view,
    run_view,
    status_view,
)

RECORD = SyncRecord(
    app="shop",
    revision="a" * 40,
    ref="main",
    author="Ann",
    subject="bump web",
    started_at="2026-12-02T10:00:00+00:00",
    duration_seconds=1.5,
    result=SyncOutcome.FAILED,
    message="Deployment/shop/web: refused",
    exit_code=3,
    charts=("web@1.2.0",),
    counts={"created": 1},
    actions=(ObjectAction(object="Deployment/shop/web", outcome="failed", message="refused"),),
)

DRIFT = DriftRecord(
    app="shop",
    object="Deployment/shop/web",
    kind=DriftKind.MODIFIED,
    fields=("spec.replicas",),
    actor="kubectl-scale",
    detected_at="2026-12-02T10:00:01+00:00",
    outcome=DriftOutcome.CORRECTED,
    corrected_at="2026-12-02T10:00:02+00:00",
    detected_monotonic=12.5,
)


def snake_keys(value: object) -> list[str]:
    """Every key in ``value``, at any depth, that has an underscore."""
    if isinstance(value, dict):
        return [k for k in value if "_" in k] + [x for v in value.values() for x in snake_keys(v)]
    if isinstance(value, list):
        return [x for v in value for x in snake_keys(v)]
    return []


def test_snake_case_names_become_camel_case() -> None:
    assert camel_case("last_synced_at") == "lastSyncedAt"
    assert camel_case("revision") == "revision"


def test_encode_turns_nested_dataclasses_enums_and_tuples_into_json_data() -> None:
    class Colour(StrEnum):
        RED = "red"

    @dataclass(frozen=True)
    class Inner:
        some_colour: Colour

    @dataclass(frozen=True)
    class Outer:
        inner_items: tuple[Inner, ...]
        hidden_value: int = field(default=0, metadata={"public": False})

    assert encode(Outer(inner_items=(Inner(Colour.RED),), hidden_value=3)) == {
        "innerItems": [{"someColour": "red"}]
    }


def test_a_history_record_is_shown_in_camel_case_with_its_version_and_kind() -> None:
    view = history_view(RECORD)
    assert (view["apiVersion"], view["kind"]) == (API_VERSION, "SyncRecord")
    assert (view["exitCode"], view["durationSeconds"], view["startedAt"]) == (
        3,
        1.5,
        "2026-12-02T10:00:00+00:00",
    )
    assert view["actions"] == [
        {"object": "Deployment/shop/web", "outcome": "failed", "message": "refused"}
    ]
    assert snake_keys(view) == []


def test_a_drift_names_its_change_and_keeps_backoff_arithmetic_out() -> None:
    view = drift_view(DRIFT)
    assert (view["kind"], view["change"], view["outcome"]) == ("Drift", "modified", "corrected")
    assert view["fields"] == ["spec.replicas"]
    assert view["correctedAt"] == "2026-12-02T10:00:02+00:00"
    assert "detectedMonotonic" not in view
    assert snake_keys(view) == []


def test_the_cli_status_and_the_controller_show_an_app_with_the_same_core_keys() -> None:
    healthy = Health(HealthStatus.HEALTHY, "")
    cli = status_view(
        AppStatus(
            app="shop",
            sync=SyncState.SYNCED,
            health=healthy,
            revision="a" * 40,
            last_synced_revision="a" * 40,
            last_synced_at="2026-12-02T10:00:00+00:00",
            objects=(
                ObjectStatus(
                    object="Deployment/shop/web",
                    sync=SyncState.SYNCED,
                    health=healthy,
                    action="unchanged",
                ),
            ),
            last_sync_result=SyncOutcome.SUCCEEDED,
            charts=("web@1.2.0 (commit 020ccccccccc)",),
        )
    )
    controlled = ControlledApp(
        name="shop",
        sync=SyncState.SYNCED,
        health="Healthy",
        revision="a" * 40,
        last_synced_at="2026-12-02T10:00:00+00:00",
        last_sync_result=SyncOutcome.SUCCEEDED,
        message="",
        fighting="",
        auto_sync=True,
        self_heal=True,
        charts=("web@1.2.0 (commit 020ccccccccc)",),
    )
    api = controlled_app_detail_view(
        controlled,
        objects=[ObjectHealth(object="Deployment/shop/web", health=healthy)],
        drifts=[DRIFT],
        git_error="",
    )
    core = (
        "apiVersion",
        "kind",
        "name",
        "sync",
        "health",
        "revision",
        "lastSyncedRevision",
        "lastSyncedAt",
        "lastSyncResult",
        "message",
        "charts",
    )
    assert {k: cli[k] for k in core} == {k: api[k] for k in core}
    assert [o["object"] for o in cli["objects"]] == [o["object"] for o in api["objects"]]
    assert set(controlled_app_view(controlled)) <= set(api)
    assert api["charts"] == ["web@1.2.0 (commit 020ccccccccc)"]
    assert snake_keys(cli) == snake_keys(api) == []


def test_a_skipped_app_reads_like_a_sync_result() -> None:
    view = run_view(AppRun(app="top", outcome=SyncOutcome.SKIPPED, reason="depends on base"))
    assert (view["kind"], view["app"], view["result"], view["exitCode"]) == (
        "SyncResult",
        "top",
        "skipped",
        int(ExitCode.OK),
    )
