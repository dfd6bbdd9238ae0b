from __future__ import annotations

from typing import Any

from gitward.heal.backoff import CAP, ObjectBackoff
from gitward.plan.fieldsets import actor_of, dotted, leaves, lost_paths

DEPLOY_FIELDS: dict[str, Any] = {
    "f:metadata": {"f:labels": {"f:app": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}},
                }
            }
        },
    },
}


def body(*entries: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {
            "managedFields": [
                {
                    "manager": m,
                    "operation": "Apply" if m == "gitward" else "Update",
                    "time": t,
                    "fieldsV1": f,
                }
                for m, t, f in entries
            ]
        }
    }


def test_leaves_read_list_item_keys_as_readable_paths() -> None:
    paths = {dotted(p) for p in leaves(DEPLOY_FIELDS)}
    assert "spec.replicas" in paths
    assert "spec.template.spec.containers[name=web].image" in paths
    assert "spec.template.spec.containers[name=web]" in paths


def test_a_scaled_deployment_lost_replicas_to_kubectl() -> None:
    after = {k: v for k, v in DEPLOY_FIELDS.items() if k != "f:spec"}
    after["f:spec"] = {k: v for k, v in DEPLOY_FIELDS["f:spec"].items() if k != "f:replicas"}
    lost = lost_paths(DEPLOY_FIELDS, after)
    assert [dotted(p) for p in lost] == ["spec.replicas"]
    live = body(
        ("gitward", "2026-01-01T00:00:00Z", after),
        ("kube-controller-manager", "2026-01-01T00:00:05Z", {"f:status": {"f:replicas": {}}}),
        ("kubectl", "2026-01-01T00:00:03Z", {"f:spec": {"f:replicas": {}}}),
    )
    assert actor_of(live, lost, "gitward") == "kubectl"


def test_actor_falls_back_to_the_most_recent_other_manager() -> None:
    live = body(
        ("gitward", "2026-01-01T00:00:00Z", {}),
        ("a", "2026-01-01T00:00:01Z", {"f:x": {}}),
        ("b", "2026-01-01T00:00:09Z", {"f:y": {}}),
    )
    assert actor_of(live, [], "gitward") == "b"
    assert actor_of(body(("gitward", "t", {})), [], "gitward") == "unknown"


def test_backoff_heals_first_drift_at_once_then_triples_up_to_the_cap() -> None:
    b = ObjectBackoff()
    assert b.delay(100.0) == 0.0 and not b.fighting
    delays = []
    now = 100.0
    for _ in range(7):
        b.last_correction = now
        now += 1.0
        delays.append(b.delay(now))
    assert delays == [2.0, 6.0, 18.0, 54.0, 162.0, CAP, CAP]
    assert b.fighting


def test_backoff_resets_after_a_quiet_period() -> None:
    b = ObjectBackoff(level=3, last_correction=0.0)
    assert b.delay(CAP + 1.0) == 0.0
    assert not b.fighting
