from __future__ import annotations

from gitward.config.apps import AppSpec
from gitward.config.tenancy import parse_policy
from gitward.objects import ObjectRef
from gitward.plan.policy import refusals

POLICY = parse_policy(
    'default:\n  namespaces: ["$app"]\n'
    '  clusterResources: [{group: rbac.authorization.k8s.io, kind: "*"}]\n'
    'apps:\n  platform: {namespaces: ["*"], clusterResources: [{group: "*", kind: "*"}]}\n',
    filename="policy.yaml",
)
SHOP = AppSpec(name="shop", path="apps/shop", namespace="shop")


def ref(kind: str, name: str, namespace: str = "", group: str = "") -> ObjectRef:
    return ObjectRef(group=group, kind=kind, namespace=namespace, name=name)


def test_objects_in_the_apps_namespace_and_allowed_cluster_kinds_pass() -> None:
    objects = [
        (ref("ConfigMap", "a", "shop"), "a.yaml"),
        (ref("ClusterRole", "r", group="rbac.authorization.k8s.io"), "r.yaml"),
    ]
    assert refusals(POLICY, app=SHOP, objects=objects) == []


def test_a_foreign_namespace_is_refused_naming_object_rule_and_file() -> None:
    (error,) = refusals(POLICY, app=SHOP, objects=[(ref("ConfigMap", "a", "billing"), "a.yaml")])
    assert str(error) == (
        "ConfigMap/billing/a (a.yaml): namespace billing is not allowed for app shop "
        "by policy policy.yaml"
    )


def test_a_cluster_scoped_kind_not_listed_is_refused() -> None:
    (error,) = refusals(POLICY, app=SHOP, objects=[(ref("Namespace", "x"), "createNamespace")])
    assert str(error) == (
        "Namespace/x (createNamespace): cluster-scoped kind Namespace is not allowed "
        "for app shop by policy policy.yaml"
    )
    (crd,) = refusals(
        POLICY,
        app=SHOP,
        objects=[(ref("CustomResourceDefinition", "c", group="apiextensions.k8s.io"), "c.yaml")],
    )
    assert "kind CustomResourceDefinition.apiextensions.k8s.io is not allowed" in str(crd)


def test_an_app_named_in_the_policy_gets_its_own_rules() -> None:
    platform = AppSpec(name="platform", path="p", namespace="platform")
    objects = [(ref("Namespace", "x"), "n.yaml"), (ref("ConfigMap", "a", "billing"), "a.yaml")]
    assert refusals(POLICY, app=platform, objects=objects) == []
    assert len(refusals(POLICY, app=SHOP, objects=objects)) == 2
