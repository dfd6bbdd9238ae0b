"""Bad input: one clear line, a non-zero exit, and the cluster and inventory untouched.

Each is still a sync attempt of that revision, so the history records it, once,
as failed with exit code 2 and the same reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import ConfigRepo, gitward, one_app

BASELINE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  a: '1'\n"


def chart_with(dep: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "v2", "name": "umbrella", "version": "1.0.0", "dependencies": [dep]}


def malformed_yaml(repo: ConfigRepo, oci: str) -> str:
    repo.write("app/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x: y\n")
    return "app/broken.yaml:4"


def unknown_chart_version(repo: ConfigRepo, oci: str) -> str:
    repo.remove("app/keep.yaml")
    repo.write("app/Chart.yaml", chart_with({"name": "web", "version": "9.9.9", "repository": oci}))
    return "9.9.9"


def unreachable_chart_repo(repo: ConfigRepo, oci: str) -> str:
    repo.remove("app/keep.yaml")
    repo.write(
        "app/Chart.yaml",
        chart_with({"name": "web", "version": "0.1.0", "repository": "http://127.0.0.1:9/charts"}),
    )
    return "127.0.0.1:9"


def lock_mismatch(repo: ConfigRepo, oci: str) -> str:
    repo.remove("app/keep.yaml")
    repo.write("app/Chart.yaml", chart_with({"name": "web", "version": "0.1.0", "repository": oci}))
    repo.lock("app")
    repo.write("app/Chart.yaml", chart_with({"name": "web", "version": "0.2.0", "repository": oci}))
    return "web"


def schema_violation(repo: ConfigRepo, oci: str) -> str:
    repo.write("app/extra.yaml", BASELINE.replace("keep", "extra"))
    repo.write(
        "app/deploy.yaml",
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: many
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: nginx}]}
        """,
    )
    return "Deployment"


def missing_crd(repo: ConfigRepo, oci: str) -> str:
    repo.write(
        "app/gadget.yaml", "apiVersion: nope.example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n"
    )
    return "Gadget"


def namespace_less_object(repo: ConfigRepo, oci: str) -> str:
    config = yaml.safe_load((repo.path / "gitward.yaml").read_text())
    del config["apps"][0]["namespace"]
    repo.write("gitward.yaml", config)
    return "has no namespace"


CASES: dict[str, Callable[[ConfigRepo, str], str]] = {
    f.__name__: f
    for f in (
        malformed_yaml,
        unknown_chart_version,
        unreachable_chart_repo,
        lock_mismatch,
        schema_violation,
        missing_crd,
        namespace_less_object,
    )
}


def snapshot(cluster: Cluster, namespace: str, app: str) -> dict[str, str]:
    out = {}
    for api, kind, ns in (
        ("v1", "ConfigMap", namespace),
        ("apps/v1", "Deployment", namespace),
    ):
        for o in cluster.list(api, kind, ns):
            out[f"{kind}/{o['metadata']['name']}"] = o["metadata"]["resourceVersion"]
    out["inventory"] = cluster.inventory(app)
    assert out["inventory"] != "absent"
    return out


def history(app: str) -> list[dict[str, object]]:
    result = gitward("history", app, "-o", "json")
    assert result.returncode == 0, result.stderr
    records: list[dict[str, object]] = json.loads(result.stdout)
    return records


@pytest.fixture
def synced(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> ConfigRepo:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/keep.yaml", BASELINE)
    repo.commit("baseline")
    result = gitward("sync", app_name, "--repo", repo.url, "--revision", "main")
    assert result.returncode == 0, result.stderr
    return repo


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_in_one_line_and_changes_nothing(
    case: str,
    cluster: Cluster,
    synced: ConfigRepo,
    namespace: str,
    app_name: str,
    oci_charts: str,
) -> None:
    before = snapshot(cluster, namespace, app_name)
    recorded = history(app_name)
    expected = CASES[case](synced, oci_charts)
    synced.commit(case)

    result = gitward("sync", app_name, "--repo", synced.url, "--revision", "main")

    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0], lines[0]
    assert snapshot(cluster, namespace, app_name) == before
    after = history(app_name)
    assert after[1:] == recorded
    assert (after[0]["result"], after[0]["exitCode"]) == ("failed", 2)
    assert expected in str(after[0]["message"])

    again = gitward("sync", app_name, "--repo", synced.url, "--revision", "main")
    assert again.returncode == 2
    assert history(app_name) == after, "the same failure was recorded twice"


def test_a_revision_that_does_not_exist_fails_in_one_line_and_changes_nothing(
    cluster: Cluster, synced: ConfigRepo, namespace: str, app_name: str
) -> None:
    before = snapshot(cluster, namespace, app_name)
    result = gitward("sync", app_name, "--repo", synced.url, "--revision", "no-such-branch")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "revision 'no-such-branch' not found" in lines[0]
    assert snapshot(cluster, namespace, app_name) == before


def test_every_error_is_listed_under_verbose_and_in_json_and_summed_up_otherwise(
    synced: ConfigRepo, app_name: str
) -> None:
    for kind in ("Gadget", "Widget"):
        synced.write(
            f"app/{kind.lower()}.yaml",
            f"apiVersion: nope.example.com/v1\nkind: {kind}\nmetadata:\n  name: x\n",
        )
    synced.commit("two unknown kinds")
    args = ("sync", app_name, "--repo", synced.url, "--revision", "main")

    plain = gitward(*args)
    assert plain.returncode == 2
    assert len(plain.stderr.strip().splitlines()) == 1
    assert "(and 1 more)" in plain.stderr

    verbose = gitward("-v", *args)
    assert verbose.returncode == 2
    lines = verbose.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("  also: ")
    assert "Gadget" in verbose.stderr and "Widget" in verbose.stderr

    as_json = gitward(*args, "-o", "json")
    assert as_json.returncode == 2
    doc = json.loads(as_json.stdout)
    assert doc["exitCode"] == 2 and doc["result"] == "failed" and len(doc["errors"]) == 2
    assert any("Gadget" in e for e in doc["errors"]) and any("Widget" in e for e in doc["errors"])
