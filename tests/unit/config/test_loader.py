from __future__ import annotations

from pathlib import Path

import pytest

from gitward.config.loader import load_repo_config, parse_repo_config
from gitward.config.verify import VerifyMode
from gitward.errors import ConfigError

VALID = """\
apps:
  - name: shop
    path: apps/shop
    namespace: shop
    createNamespace: true
    dependsOn: [infra]
    ignore:
      - {kind: Deployment, name: web, jsonPointers: [/spec/replicas]}
  - name: infra
    path: apps/infra/
"""


def test_apps_come_after_the_apps_they_depend_on() -> None:
    config = parse_repo_config(VALID)
    assert [a.name for a in config.apps] == ["infra", "shop"]


def test_fields_map_onto_app_spec_with_defaults() -> None:
    config = parse_repo_config(VALID)
    shop, infra = config.app("shop"), config.app("infra")
    assert shop is not None and infra is not None
    assert shop.create_namespace and shop.prune and not shop.self_heal
    assert shop.ignore[0].kind == "Deployment"
    assert shop.ignore[0].json_pointers == ("/spec/replicas",)
    assert infra.path == "apps/infra"
    assert infra.release == "infra"


def test_malformed_yaml_error_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"^gitward\.yaml:3: "):
        parse_repo_config("apps:\n  - name: a\n    path: a: b\n")


def test_schema_violation_names_the_line_of_the_offending_field() -> None:
    text = "apps:\n  - name: shop\n    path: apps/shop\n    prune: sometimes\n"
    with pytest.raises(ConfigError) as err:
        parse_repo_config(text)
    message = str(err.value)
    assert message.startswith("gitward.yaml:4: apps.0.prune: ")
    assert "\n" not in message


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"gitward\.yaml:2: .*'autosync' was unexpected"):
        parse_repo_config("apps:\n  - {name: a, path: a, autosync: true}\n")


def test_dependency_on_an_unknown_app_is_rejected_with_its_line() -> None:
    text = "apps:\n  - name: a\n    path: a\n    dependsOn: [ghost]\n"
    with pytest.raises(
        ConfigError, match=r"gitward\.yaml:4: app 'a' depends on unknown app 'ghost'"
    ):
        parse_repo_config(text)


def test_dependency_cycle_is_rejected() -> None:
    text = "apps:\n  - {name: a, path: a, dependsOn: [b]}\n  - {name: b, path: b, dependsOn: [a]}\n"
    with pytest.raises(ConfigError, match="dependsOn cycle: a -> b -> a"):
        parse_repo_config(text)


def test_duplicate_app_names_are_rejected() -> None:
    with pytest.raises(ConfigError, match="declared twice"):
        parse_repo_config("apps:\n  - {name: a, path: a}\n  - {name: a, path: b}\n")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"gitward\.yaml: not found"):
        load_repo_config(tmp_path)


def test_verify_is_read_with_its_line() -> None:
    config = parse_repo_config("apps: []\nverify: strict\n")

    assert config.verify is VerifyMode.STRICT
    assert config.verify_line == 2


def test_an_unknown_verify_mode_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"^gitward.yaml:2: verify: 'always' is not one of"):
        parse_repo_config("apps: []\nverify: always\n")
