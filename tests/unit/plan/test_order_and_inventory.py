from __future__ import annotations

from typing import Any

import pytest

from gitward.objects import Manifest
from gitward.plan.inventory import desired_hash, fields_hash
from gitward.plan.order import InvalidAnnotation, Phase, phase_of, sort_key


def manifest(kind: str, name: str, annotations: dict[str, str] | None = None) -> Manifest:
    api = {"CustomResourceDefinition": "apiextensions.k8s.io/v1", "Deployment": "apps/v1"}
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return Manifest(
        body={"apiVersion": api.get(kind, "v1"), "kind": kind, "metadata": meta}, source="x"
    )


def test_crds_then_namespaces_then_config_before_workloads() -> None:
    ms = [
        manifest("Deployment", "web"),
        manifest("ConfigMap", "cfg"),
        manifest("Namespace", "shop"),
        manifest("CustomResourceDefinition", "widgets.example.com"),
    ]
    ordered = [m.ref.kind for m in sorted(ms, key=sort_key)]
    assert ordered == ["CustomResourceDefinition", "Namespace", "ConfigMap", "Deployment"]


def test_sync_wave_orders_within_the_stage_even_against_kind_order() -> None:
    early = manifest("Deployment", "db", {"gitward.io/sync-wave": "-1"})
    late = manifest("ConfigMap", "cfg", {"gitward.io/sync-wave": "2"})
    assert sorted([late, early], key=sort_key) == [early, late]


def test_hooks_go_in_their_phase_ordered_by_weight() -> None:
    pre = manifest("Job", "migrate", {"helm.sh/hook": "pre-install,pre-upgrade"})
    post = manifest("Job", "notify", {"helm.sh/hook": "post-upgrade"})
    assert phase_of(pre) is Phase.PRE_SYNC
    assert phase_of(post) is Phase.POST_SYNC
    assert phase_of(manifest("ConfigMap", "c")) is Phase.SYNC
    heavy = manifest("Job", "b", {"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "5"})
    assert sorted([heavy, pre], key=sort_key) == [pre, heavy]


def test_a_non_integer_wave_is_an_error_naming_the_object() -> None:
    with pytest.raises(InvalidAnnotation, match=r"ConfigMap/c .* is not an integer"):
        sort_key(manifest("ConfigMap", "c", {"gitward.io/sync-wave": "soon"}))


def test_desired_hash_changes_with_the_body_and_the_ignore_rules() -> None:
    body = {"kind": "ConfigMap", "data": {"a": "1"}}
    assert desired_hash(body, ()) == desired_hash({"data": {"a": "1"}, "kind": "ConfigMap"}, ())
    assert desired_hash(body, ()) != desired_hash({**body, "data": {"a": "2"}}, ())
    assert desired_hash(body, ()) != desired_hash(body, ("/data/a",))


def _with_fields(fields: dict[str, Any], manager: str = "gitward") -> dict[str, Any]:
    return {
        "metadata": {
            "managedFields": [
                {"manager": manager, "operation": "Apply", "fieldsV1": fields},
                {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:x": {}}},
            ]
        }
    }


def test_fields_hash_sees_a_field_leaving_gitwards_ownership() -> None:
    before = _with_fields({"f:spec": {"f:replicas": {}, "f:paused": {}}})
    after = _with_fields({"f:spec": {"f:paused": {}}})
    assert fields_hash(before, (), "gitward") != fields_hash(after, (), "gitward")


def test_fields_hash_ignores_ignored_fields() -> None:
    before = _with_fields({"f:spec": {"f:replicas": {}, "f:paused": {}}})
    after = _with_fields({"f:spec": {"f:paused": {}}})
    assert fields_hash(before, ("/spec/replicas",), "gitward") == fields_hash(
        after, ("/spec/replicas",), "gitward"
    )
    assert before["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:replicas"] == {}


def test_owning_nothing_hashes_as_the_empty_set_and_differs_from_owning_something() -> None:
    nothing = fields_hash(_with_fields({}, manager="helm"), (), "gitward")
    assert nothing and nothing == fields_hash({"metadata": {}}, (), "gitward")
    assert nothing != fields_hash(_with_fields({"f:spec": {"f:replicas": {}}}), (), "gitward")


def test_fields_hash_is_unusable_when_an_ignore_rule_points_into_a_list() -> None:
    assert fields_hash(_with_fields({"f:spec": {}}), ("/spec/containers/0/image",), "gitward") == ""
