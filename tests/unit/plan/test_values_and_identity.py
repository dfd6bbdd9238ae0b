"""Value fingerprints over managed fields, app identities, and what an apply takes back."""

from __future__ import annotations

from typing import Any

from gitward.config.identity import AppId, Owner, owner_of
from gitward.plan.fieldsets import taken_back
from gitward.plan.inventory import project, values_hash
from gitward.source.urls import source_identity

MANAGER = "gitward/shop"
FIELDS = {
    "f:data": {"f:colour": {}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}}
        },
    },
}


def deployment(image: str = "web:1", replicas: int = 2, colour: str = "blue") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web",
            "managedFields": [{"manager": MANAGER, "operation": "Apply", "fieldsV1": FIELDS}],
        },
        "data": {"colour": colour, "size": "L"},
        "spec": {
            "replicas": replicas,
            "paused": False,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "side", "image": "side:1"},
                        {"name": "web", "image": image, "ports": [{"containerPort": 80}]},
                    ]
                }
            },
        },
    }


def test_projection_keeps_only_the_values_the_manager_owns() -> None:
    out = project(deployment(), FIELDS)
    assert out["data"] == {"colour": "blue"}
    assert "paused" not in out["spec"]
    containers = out["spec"]["template"]["spec"]["containers"]
    assert containers == [['k:{"name":"web"}', {"image": "web:1", "name": "web"}]]


def test_values_hash_changes_with_an_owned_value_under_the_same_field_set() -> None:
    base = values_hash(deployment(), (), MANAGER)
    assert base
    assert values_hash(deployment(image="web:2"), (), MANAGER) != base
    assert values_hash(deployment(colour="red"), (), MANAGER) != base


def test_values_hash_ignores_values_the_manager_does_not_own() -> None:
    other = deployment()
    other["data"]["size"] = "XL"
    other["spec"]["paused"] = True
    other["spec"]["template"]["spec"]["containers"][0]["image"] = "side:2"
    assert values_hash(other, (), MANAGER) == values_hash(deployment(), (), MANAGER)


def test_values_hash_leaves_out_ignored_pointers() -> None:
    ignore = ("/spec/replicas",)
    assert values_hash(deployment(replicas=7), ignore, MANAGER) == values_hash(
        deployment(), ignore, MANAGER
    )


def test_app_identity_keys_records_managers_and_tracking_ids() -> None:
    plain = AppId(name="shop", source="https://git.example.com/org/config")
    env = AppId(name="shop", environment="prod", source=plain.source)
    assert plain.key == "shop" and env.key == "prod.shop"
    assert plain.field_manager == "gitward/shop" and env.field_manager == "gitward/prod.shop"
    assert plain.tracking_id == "shop@https://git.example.com/org/config"
    owner = Owner.parse(env.tracking_id)
    assert owner == Owner(key="prod.shop", source="https://git.example.com/org/config")
    assert owner_of({"gitward.io/tracking-id": plain.tracking_id}) == Owner("shop", plain.source)
    assert owner_of({}) is None and owner_of(None) is None


def test_every_spelling_of_one_repository_is_one_source_and_credentials_never_appear() -> None:
    https = {
        source_identity(u)
        for u in (
            "https://bot:secret@Git.Example.com/org/config.git",
            "https://git.example.com/org/config/",
            "https://git.example.com/org/config",
        )
    }
    assert https == {"https://git.example.com/org/config"}
    assert source_identity("git@example.com:org/config.git") == "ssh://example.com/org/config"
    assert source_identity("/srv/x/../config") == source_identity("file:///srv/config/")


def test_taken_back_names_the_writer_that_held_a_field_git_sets() -> None:
    mine: dict[str, Any] = {"f:spec": {"f:paused": {}}}
    live = {
        "metadata": {
            "managedFields": [
                {"manager": MANAGER, "operation": "Apply", "fieldsV1": mine},
                {
                    "manager": "kubectl",
                    "operation": "Update",
                    "fieldsV1": {"f:spec": {"f:replicas": {}}},
                },
            ]
        }
    }
    applied = {
        "metadata": {
            "managedFields": [
                {
                    "manager": MANAGER,
                    "operation": "Apply",
                    "fieldsV1": {"f:spec": {"f:paused": {}, "f:replicas": {}}},
                }
            ]
        }
    }
    assert taken_back(live, applied, MANAGER) == {"kubectl": ["spec.replicas"]}
    assert taken_back(live, live, MANAGER) == {}
    shared = {
        "metadata": {
            "managedFields": [
                *applied["metadata"]["managedFields"],
                live["metadata"]["managedFields"][1],  # same value: kubectl keeps it too
            ]
        }
    }
    assert taken_back(live, shared, MANAGER) == {}
