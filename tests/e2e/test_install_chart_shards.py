"""gitward's Helm chart with ``shards``: as many replicas or more, each told the count,
and the Lease rights sharded replicas need on the real control plane."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.test_install_chart import FULLNAME, allowed, install, rendered, template

REPO = "repo.url=https://git.example.invalid/platform/config.git"


def controller_args(objects: dict[str, dict[str, Any]]) -> list[str]:
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


def test_shards_run_that_many_replicas_or_more_each_told_the_count() -> None:
    four = rendered(REPO, "shards=4")
    assert four["Deployment"]["spec"]["replicas"] == 4
    args = controller_args(four)
    assert args[args.index("--shards") + 1] == "4"
    assert args[args.index("--lease-name") + 1] == FULLNAME
    more = rendered(REPO, "shards=4", "replicaCount=6")
    assert more["Deployment"]["spec"]["replicas"] == 6
    # One shard is active/standby as before: two replicas, no --shards at all.
    default = rendered(REPO)
    assert default["Deployment"]["spec"]["replicas"] == 2
    assert "--shards" not in controller_args(default)


@pytest.mark.parametrize("value", ["0", "2.5", "many"])
def test_the_chart_refuses_a_shards_value_that_is_not_a_whole_number_from_one(value: str) -> None:
    proc = template(REPO, f"shards={value}")
    assert proc.returncode != 0
    assert f"shards: {value} is not a whole number of shards" in proc.stderr, proc.stderr


def test_sharded_replicas_run_ready_and_may_list_and_renew_the_records_leases_only(
    cluster: Cluster, namespace: str
) -> None:
    with install(
        cluster,
        namespace,
        REPO,
        f"recordsNamespace={namespace}",
        "secret.gitToken=token-123",
        "shards=3",
        wait=True,
    ) as installed:
        deployment = cluster.get("apps/v1", "Deployment", FULLNAME, namespace)
        assert deployment is not None
        assert deployment["spec"]["replicas"] == 3
        assert deployment["status"].get("readyReplicas") == 3
        lease = {"group": "coordination.k8s.io", "namespace": namespace}
        # Shard and member Leases are named at run time (a member after its pod).
        for verb in ("get", "list", "update", "create"):
            assert allowed(cluster, installed, verb, "leases", **lease), f"{verb} leases"
        assert allowed(cluster, installed, "update", "leases", name=f"{FULLNAME}-shard-2", **lease)
        assert not allowed(
            cluster, installed, "delete", "leases", name=f"{FULLNAME}-shard-2", **lease
        )
        # Writes stay in the records namespace (reads are cluster-wide for every kind).
        assert not allowed(
            cluster, installed, "update", "leases", namespace="default", group="coordination.k8s.io"
        )
