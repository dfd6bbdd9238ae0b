from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitward.config.loader import parse_repo_config
from gitward.config.tenancy import (
    ClusterResource,
    Rules,
    load_policy,
    load_tenancy,
    parse_policy,
)
from gitward.errors import ConfigError

POLICY = """\
# which namespaces an app may deploy to, and which cluster-scoped kinds it may create
default:
  namespaces: ["$app", "$app-*"]
  clusterResources: [{group: "", kind: Namespace}]
apps:
  platform: {namespaces: ["*"], clusterResources: [{group: "*", kind: "*"}]}
  rbac: {clusterResources: [{group: rbac.authorization.k8s.io, kind: "Cluster*"}]}
"""


def test_an_app_not_named_gets_the_default_rules() -> None:
    policy = parse_policy(POLICY, filename="policy.yaml")
    assert policy.rules_for("shop") == policy.default
    assert policy.rules_for("platform") is not policy.default
    assert policy.source == "policy.yaml"


def test_app_namespace_placeholder_stands_for_the_apps_own_namespace() -> None:
    rules = parse_policy(POLICY, filename="p").rules_for("shop")
    assert rules.allows_namespace("shop", app_namespace="shop")
    assert rules.allows_namespace("shop-staging", app_namespace="shop")
    assert not rules.allows_namespace("billing", app_namespace="shop")
    assert not rules.allows_namespace("shopping", app_namespace="shop")


def test_an_app_without_a_namespace_has_no_own_namespace_to_match() -> None:
    rules = Rules()
    assert not rules.allows_namespace("default", app_namespace="")
    assert not rules.allows_namespace("-x", app_namespace="")


def test_cluster_resources_match_group_and_kind_as_globs() -> None:
    policy = parse_policy(POLICY, filename="p")
    shop, rbac, platform = (policy.rules_for(a) for a in ("shop", "rbac", "platform"))
    assert shop.allows_cluster_resource(group="", kind="Namespace")
    assert not shop.allows_cluster_resource(group="rbac.authorization.k8s.io", kind="ClusterRole")
    assert rbac.allows_cluster_resource(group="rbac.authorization.k8s.io", kind="ClusterRole")
    assert rbac.allows_cluster_resource(
        group="rbac.authorization.k8s.io", kind="ClusterRoleBinding"
    )
    assert not rbac.allows_cluster_resource(group="", kind="Namespace")
    assert platform.allows_cluster_resource(group="apiextensions.k8s.io", kind="Whatever")
    assert platform.allows_namespace("anything", app_namespace="platform")


def test_unset_rules_are_locked_down_to_the_apps_own_namespace() -> None:
    policy = parse_policy("apps:\n  rbac: {}\n", filename="p")
    for rules in (policy.default, policy.rules_for("rbac")):
        assert rules.namespaces == ("$app",)
        assert rules.cluster_resources == ()
    assert parse_policy("", filename="p").default == Rules()
    assert ClusterResource(group="", kind="Namespace").matches(group="", kind="Namespace")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("default:\n  namespaces: shop\n", "p.yaml:2: default.namespaces: 'shop' is not of type"),
        (
            "default:\n  clusterResources:\n    - {kind: Namespace}\n",
            "p.yaml:3: default.clusterResources.0: 'group' is a required property",
        ),
        ("apps:\n  Shop: {}\n", "p.yaml:2: apps: 'Shop' does not match"),
        ("defaults: {}\n", "p.yaml:1: (top level): Additional properties are not allowed"),
        ("default: [\n", "p.yaml:2: expected the node content"),
    ],
)
def test_a_malformed_policy_names_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_policy(text, filename="p.yaml")
    assert str(e.value).startswith(expected), str(e.value)


def test_a_missing_policy_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(
        ConfigError, match=f"^{re.escape(str(missing))}: cannot read the policy file"
    ):
        load_policy(str(missing))


def test_tenancy_takes_the_default_account_and_the_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    tenancy = load_tenancy(default_service_account="deployer", policy_file=str(path))
    assert tenancy.default_service_account == "deployer"
    assert tenancy.policy is not None and tenancy.policy.source == str(path)
    empty = load_tenancy(default_service_account=None, policy_file=None)
    assert empty.default_service_account == "" and empty.policy is None


@pytest.mark.parametrize("name", ["Deployer", "a_b", "-x", "x" * 64])
def test_a_default_account_that_is_no_service_account_name_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=r"^--default-service-account"):
        load_tenancy(default_service_account=name, policy_file=None)


def test_service_account_name_in_gitward_yaml_maps_onto_the_app() -> None:
    config = parse_repo_config(
        "apps:\n  - {name: shop, path: a, namespace: shop, serviceAccountName: deployer}\n"
        "  - {name: infra, path: b}\n"
    )
    shop, infra = config.app("shop"), config.app("infra")
    assert shop is not None and infra is not None
    assert shop.service_account_name == "deployer"
    assert infra.service_account_name == ""


def test_a_service_account_name_that_is_no_dns_label_names_the_line() -> None:
    text = "apps:\n  - name: shop\n    path: a\n    serviceAccountName: Deploy_Er\n"
    with pytest.raises(ConfigError, match=r"^gitward.yaml:4: apps.0.serviceAccountName: "):
        parse_repo_config(text)
