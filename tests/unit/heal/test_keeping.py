"""What the controller keeps of tracked objects: the same values, fewer copies."""

from __future__ import annotations

import json
from typing import Any

from gitward.heal.keeping import kept_desired, kept_live, shared_fields


def _configmap(i: int) -> dict[str, Any]:
    # Built from JSON text, as a watch delivers it: no string is shared yet.
    return dict(
        json.loads(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": f"cm-{i}",
                        "namespace": "shop",
                        "uid": f"uid-{i}",
                        "annotations": {"gitward.io/tracking-id": "shop@repo"},
                        "managedFields": [
                            {
                                "manager": "gitward/shop",
                                "operation": "Apply",
                                "fieldsType": "FieldsV1",
                                "fieldsV1": {"f:data": {"f:key": {}}},
                            }
                        ],
                    },
                    "data": {"key": "value"},
                }
            )
        )
    )


def test_kept_live_body_is_the_body_without_managed_fields() -> None:
    body = _configmap(1)
    kept = kept_live(body)
    expected = json.loads(json.dumps(body))
    del expected["metadata"]["managedFields"]
    assert kept == expected
    assert "managedFields" in body["metadata"]  # the event itself is left whole


def test_kept_bodies_share_their_repeated_strings() -> None:
    a, b = kept_live(_configmap(1)), kept_live(_configmap(2))
    assert a["metadata"]["namespace"] is b["metadata"]["namespace"]
    ann_a, ann_b = a["metadata"]["annotations"], b["metadata"]["annotations"]
    assert ann_a["gitward.io/tracking-id"] is ann_b["gitward.io/tracking-id"]
    assert next(iter(a["data"])) is next(iter(b["data"]))
    desired = kept_desired({"data": {"key": "".join(["val", "ue"])}})
    assert desired["data"]["key"] is a["data"]["key"]


def test_equal_field_sets_are_kept_once() -> None:
    first = shared_fields(json.loads('{"f:data": {"f:key": {}}, "f:metadata": {}}'))
    second = shared_fields(json.loads('{"f:metadata": {}, "f:data": {"f:key": {}}}'))
    other = shared_fields(json.loads('{"f:data": {"f:other": {}}}'))
    assert first is second
    assert first == {"f:data": {"f:key": {}}, "f:metadata": {}}
    assert other is not first
    assert shared_fields({}) == {}
