from __future__ import annotations

from typing import Any

from gitward.config.apps import IgnoreRule
from gitward.objects import ObjectRef
from gitward.plan import pointers
from gitward.plan.normalize import MASK, mask_secrets, normalize


def test_pointer_get_put_remove_round_trip() -> None:
    body: dict[str, Any] = {"spec": {"template": {"spec": {"containers": [{"image": "a"}]}}}}
    assert pointers.get(body, "/spec/template/spec/containers/0/image") == "a"
    pointers.put(body, "/spec/replicas", 3)
    assert body["spec"]["replicas"] == 3
    pointers.remove(body, "/spec/replicas")
    assert "replicas" not in body["spec"]
    pointers.remove(body, "/does/not/exist")
    assert pointers.get(body, "/does/not/exist") is None


def test_pointer_escapes_follow_rfc_6901() -> None:
    body = {"metadata": {"annotations": {"a/b": "1", "c~d": "2"}}}
    assert pointers.get(body, "/metadata/annotations/a~1b") == "1"
    assert pointers.get(body, "/metadata/annotations/c~0d") == "2"


def test_ignore_rule_matches_only_its_kind_and_name() -> None:
    rule = IgnoreRule(json_pointers=("/spec/replicas",), kind="Deployment", name="web")
    web = ObjectRef("apps", "Deployment", "shop", "web")
    api = ObjectRef("apps", "Deployment", "shop", "api")
    assert pointers.ignored_pointers((rule,), web) == ("/spec/replicas",)
    assert pointers.ignored_pointers((rule,), api) == ()


def test_normalize_drops_server_bookkeeping_and_ignored_fields() -> None:
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "uid": "u",
            "resourceVersion": "7",
            "generation": 2,
            "creationTimestamp": "t",
            "managedFields": [{}],
            "annotations": {"deployment.kubernetes.io/revision": "2"},
        },
        "spec": {"replicas": 5, "paused": False},
        "status": {"readyReplicas": 5},
    }
    out = normalize(live, ignore=("/spec/replicas",))
    assert out == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"paused": False},
    }
    assert live["status"] == {"readyReplicas": 5}, "normalize must not mutate its input"


def test_secret_values_are_masked_but_changes_stay_visible() -> None:
    old = {"apiVersion": "v1", "kind": "Secret", "data": {"same": "YQ==", "changed": "Yg=="}}
    new = {"apiVersion": "v1", "kind": "Secret", "data": {"same": "YQ==", "changed": "Yw=="}}
    shown_old, shown_new = mask_secrets(old, new)
    assert shown_old is not None and shown_new is not None
    assert shown_old["data"] == {"same": MASK, "changed": MASK + " (old)"}
    assert shown_new["data"] == {"same": MASK, "changed": MASK + " (new)"}
    assert "Yw==" not in str(shown_new)


def test_non_secret_objects_are_not_masked() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}
    assert mask_secrets(cm, cm) == (cm, cm)
