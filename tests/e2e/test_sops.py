"""SOPS-encrypted secrets on the real control plane: decrypted for the render, and nowhere else.

Each test puts a fresh plaintext (a random token) in an encrypted file,
deploys it, checks the cluster got it, and then looks for it everywhere else
gitward writes: the render and git caches, the records in the cluster, every
line gitward printed, and the temporary directories.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import ConfigRepo, gitward, one_app
from tests.sopsfiles import AgeKey, encrypt


def secret(name: str, value: str) -> str:
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: Opaque\n"
        f"stringData:\n  password: {value}\n"
    )


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  x: '1'\n"


@pytest.fixture
def key(tmp_path: Path) -> AgeKey:
    return AgeKey(tmp_path / "keys" / "age.txt")


@pytest.fixture
def plaintext() -> str:
    return f"pw-{uuid.uuid4().hex}"


@pytest.fixture
def isolated(tmp_path: Path) -> dict[str, str]:
    """A cache and a TMPDIR of the test's own, so what gitward leaves there can be read."""
    (tmp_path / "cache").mkdir()
    (tmp_path / "tmp").mkdir()
    return {"GITWARD_CACHE": str(tmp_path / "cache"), "TMPDIR": str(tmp_path / "tmp")}


def password_in_cluster(cluster: Cluster, namespace: str, name: str = "db") -> str | None:
    found = cluster.get("v1", "Secret", name, namespace)
    if found is None:
        return None
    return base64.b64decode(found["data"]["password"]).decode()


def assert_nowhere(plaintext: str, *, outputs: list[str], dirs: list[Path], cluster: Cluster,
                   app: str) -> None:  # fmt: skip
    for text in outputs:
        assert plaintext not in text
    for top in dirs:
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                path = Path(dirpath, name)
                if path.is_file() and not path.is_symlink():
                    assert plaintext.encode() not in path.read_bytes(), path
    found = cluster.get("v1", "ConfigMap", f"gitward-app-{app}", "gitward-system")
    assert found is not None
    assert plaintext not in json.dumps(found)
    assert list(Path("/dev/shm").glob("gitward-plain-*")) == []


def run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    done = gitward(*args, env=env)
    return done.returncode, done.stdout + done.stderr


def tools_env() -> dict[str, str]:
    """The pinned tools by path, since the test's cache is not where they were built."""
    from gitward.tools import find_tool

    return {
        f"GITWARD_{tool.upper().replace('-', '_')}": str(find_tool(tool))
        for tool in ("helm", "kubectl", "sops")
    }


def test_an_encrypted_manifest_deploys_and_its_plaintext_is_nowhere_else(
    cluster: Cluster,
    namespace: str,
    app_name: str,
    tmp_path: Path,
    key: AgeKey,
    plaintext: str,
    isolated: dict[str, str],
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/db.yaml", encrypt(secret("db", plaintext), key=key, only="^(data|stringData)$"))
    repo.write("app/plain.yaml", CONFIGMAP)
    repo.commit("encrypted secret")
    env = {**isolated, **tools_env(), "GITWARD_SOPS_AGE_KEY_FILE": str(key.path)}

    code, synced = run("sync", app_name, "--repo", repo.url, "--revision", "main", env=env)

    assert code == 0, synced
    assert password_in_cluster(cluster, namespace) == plaintext
    changed = f"pw-{uuid.uuid4().hex}"
    repo.write("app/db.yaml", encrypt(secret("db", changed), key=key, only="^(data|stringData)$"))
    repo.commit("rotate the password")
    outputs = [synced]
    for args in (
        ("diff", app_name, "--repo", repo.url, "--revision", "main"),
        ("diff", app_name, "--repo", repo.url, "--revision", "main", "-o", "json"),
        ("sync", app_name, "--repo", repo.url, "--revision", "main", "-o", "json"),
        ("history", app_name, "-o", "json"),
        ("status", app_name, "--repo", repo.url, "--revision", "main", "-o", "json"),
    ):
        outputs.append(run(*args, env=env)[1])
    assert "password" in outputs[1]  # the diff names the changed key, masked
    assert password_in_cluster(cluster, namespace) == changed
    for secret_value in (plaintext, changed):
        assert_nowhere(
            secret_value,
            outputs=outputs,
            dirs=[tmp_path / "cache", tmp_path / "tmp", repo.path],
            cluster=cluster,
            app=app_name,
        )


def test_an_encrypted_kustomize_resource_deploys_with_the_key_from_a_secret(
    cluster: Cluster,
    namespace: str,
    app_name: str,
    tmp_path: Path,
    key: AgeKey,
    plaintext: str,
    isolated: dict[str, str],
) -> None:
    secret_name = f"sops-{app_name}"
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret_name, "namespace": "gitward-system"},
            "data": {"age.agekey": base64.b64encode(key.path.read_bytes()).decode()},
        }
    )
    try:
        repo = ConfigRepo(tmp_path / "config")
        one_app(repo, app_name, namespace)
        repo.write(
            "app/kustomization.yaml",
            "resources: [db.yaml, plain.yaml]\ncommonLabels: {team: shop}\n",
        )
        repo.write("app/db.yaml", encrypt(secret("db", plaintext), key=key))
        repo.write("app/plain.yaml", CONFIGMAP)
        repo.commit("kustomize with an encrypted resource")
        env = {**isolated, **tools_env(), "GITWARD_SOPS_SECRET": secret_name}

        code, out = run("sync", app_name, "--repo", repo.url, "--revision", "main", env=env)

        assert code == 0, out
        assert password_in_cluster(cluster, namespace) == plaintext
        found = cluster.get("v1", "Secret", "db", namespace)
        assert found is not None and found["metadata"]["labels"]["team"] == "shop"
        assert_nowhere(
            plaintext,
            outputs=[out],
            dirs=[tmp_path / "cache", tmp_path / "tmp"],
            cluster=cluster,
            app=app_name,
        )
    finally:
        cluster.delete("v1", "Secret", secret_name, "gitward-system")


def test_an_encrypted_helm_values_file_deploys(
    cluster: Cluster,
    namespace: str,
    app_name: str,
    tmp_path: Path,
    key: AgeKey,
    plaintext: str,
    isolated: dict[str, str],
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace, valuesFiles=["secrets.yaml"])
    repo.write("app/Chart.yaml", "apiVersion: v2\nname: db\nversion: 0.1.0\n")
    repo.write("app/values.yaml", "password: unset\n")
    repo.write(
        "app/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
        "stringData:\n  password: {{ .Values.password | quote }}\n",
    )
    repo.write("app/secrets.yaml", encrypt(f"password: {plaintext}\n", key=key))
    repo.commit("helm with encrypted values")
    env = {**isolated, **tools_env(), "GITWARD_SOPS_AGE_KEY_FILE": str(key.path)}

    code, out = run("sync", app_name, "--repo", repo.url, "--revision", "main", env=env)

    assert code == 0, out
    assert password_in_cluster(cluster, namespace) == plaintext
    assert_nowhere(
        plaintext,
        outputs=[out],
        dirs=[tmp_path / "cache", tmp_path / "tmp"],
        cluster=cluster,
        app=app_name,
    )


@pytest.mark.parametrize("problem", ["wrong key", "tampered", "no key", "missing Secret"])
def test_a_file_that_does_not_decrypt_applies_nothing_and_names_the_file(
    cluster: Cluster,
    namespace: str,
    app_name: str,
    tmp_path: Path,
    key: AgeKey,
    plaintext: str,
    isolated: dict[str, str],
    problem: str,
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    encrypted = encrypt(secret("db", plaintext), key=key, only="^(data|stringData)$")
    if problem == "tampered":
        encrypted = encrypted.replace("name: db", "name: db2")
    repo.write("app/db.yaml", encrypted)
    repo.write("app/plain.yaml", CONFIGMAP)
    repo.commit(problem)
    env = {**isolated, **tools_env()}
    if problem == "wrong key":
        env["GITWARD_SOPS_AGE_KEY_FILE"] = str(AgeKey(tmp_path / "other" / "age.txt").path)
    elif problem == "tampered":
        env["GITWARD_SOPS_AGE_KEY_FILE"] = str(key.path)
    elif problem == "missing Secret":
        env["GITWARD_SOPS_SECRET"] = "no-such-secret"

    done = gitward("sync", app_name, "--repo", repo.url, "--revision", "main", env=env)

    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    if problem == "missing Secret":
        assert lines[0] == (
            "error: Secret gitward-system/no-such-secret (--sops-secret): not found"
        )
    else:
        assert lines[0].startswith("error: app/db.yaml: ")
        expected = {
            "wrong key": "none of the given keys is among its recipients",
            "tampered": "MAC mismatch",
            "no key": "no decryption key was given",
        }[problem]
        assert expected in lines[0]
    assert plaintext not in done.stdout + done.stderr
    assert cluster.get("v1", "ConfigMap", "plain", namespace) is None
    assert cluster.get("v1", "Secret", "db", namespace) is None
