"""The flags the dev control plane's components are started with."""

from __future__ import annotations

from typing import Any

import yaml

from gitward.dev.cluster import _component_patches


def _flags(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        p["name"]: {a["key"]: a["value"] for a in p["extraArgs"]} for p in doc["componentsPatches"]
    }


def test_the_controllers_are_not_held_to_twenty_requests_a_second() -> None:
    flags = _flags(yaml.safe_load(_component_patches(audit=False)))
    for component in ("kube-controller-manager", "kube-scheduler"):
        assert float(flags[component]["kube-api-qps"]) >= 500
        assert int(flags[component]["kube-api-burst"]) >= int(
            float(flags[component]["kube-api-qps"])
        )


def test_an_audited_plane_does_not_rotate_its_log_at_100_mb() -> None:
    plain = _flags(yaml.safe_load(_component_patches(audit=False)))
    audited = _flags(yaml.safe_load(_component_patches(audit=True)))
    assert "audit-log-maxsize" not in plain["kube-apiserver"]
    assert int(audited["kube-apiserver"]["audit-log-maxsize"]) >= 10_000
    assert audited["kube-apiserver"]["service-cluster-ip-range"] == "10.0.0.0/16"


def test_every_flag_value_is_a_string_as_kwokctl_reads_it() -> None:
    for audit in (False, True):
        for args in _flags(yaml.safe_load(_component_patches(audit=audit))).values():
            assert all(isinstance(v, str) for v in args.values())
