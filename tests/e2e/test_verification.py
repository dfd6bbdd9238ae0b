"""Commit verification on the real control plane: signed commits deploy, the rest apply nothing.

Keys are made here (OpenPGP and SSH); the operator trusts Alice's, never Mallory's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SETTINGS, ConfigRepo, gitward, one_app
from tests.signing import GpgKey, Signer, SshKey, commit, forge


@pytest.fixture(scope="module")
def gpg_alice() -> Iterator[GpgKey]:
    key = GpgKey("Alice", "alice@example.com")
    yield key
    key.close()


@pytest.fixture(scope="module")
def gpg_mallory() -> Iterator[GpgKey]:
    key = GpgKey("Mallory", "mallory@example.com")
    yield key
    key.close()


@pytest.fixture(scope="module")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SshKey]:
    where = tmp_path_factory.mktemp("ssh")
    return {name: SshKey(where, name) for name in ("alice", "mallory")}


@pytest.fixture(scope="module")
def trusted(
    tmp_path_factory: pytest.TempPathFactory, gpg_alice: GpgKey, ssh_keys: dict[str, SshKey]
) -> Path:
    keys = tmp_path_factory.mktemp("trusted")
    gpg_alice.export(keys / "alice.asc")
    (keys / "allowed_signers").write_text(ssh_keys["alice"].allowed_signer("alice@example.com"))
    return keys


@pytest.fixture
def repo(tmp_path: Path, namespace: str, app_name: str) -> ConfigRepo:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    return repo


def colour(cluster: Cluster, namespace: str) -> str | None:
    found = cluster.get("v1", "ConfigMap", "settings", namespace)
    return None if found is None else found["data"]["colour"]


def set_colour(repo: ConfigRepo, value: str) -> None:
    repo.write("app/settings.yaml", SETTINGS.format(value))


def sync(
    app: str, repo: ConfigRepo, *flags: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    done = gitward("sync", app, "--repo", repo.url, "--revision", "main", *flags, env=env)
    return done.returncode, done.stdout, done.stderr


def test_a_signed_commit_deploys_under_head_and_under_strict(
    cluster: Cluster,
    namespace: str,
    app_name: str,
    repo: ConfigRepo,
    trusted: Path,
    gpg_alice: GpgKey,
    ssh_keys: dict[str, SshKey],
) -> None:
    set_colour(repo, "blue")
    first = commit(repo.path, "ssh-signed", signer=ssh_keys["alice"])

    code, out, err = sync(app_name, repo, "--verify", "head", "--trusted-keys", str(trusted))

    assert code == 0, err
    assert f"verified {first[:12]}: signed by trusted key {ssh_keys['alice'].fingerprint}" in out
    assert colour(cluster, namespace) == "blue"

    set_colour(repo, "green")
    commit(repo.path, "gpg-signed", signer=gpg_alice)
    set_colour(repo, "red")
    second = commit(repo.path, "ssh-signed again", signer=ssh_keys["alice"])
    env = {"GITWARD_VERIFY": "strict", "GITWARD_TRUSTED_KEYS": str(trusted)}

    code, out, err = sync(app_name, repo, env=env)

    assert code == 0, err
    assert f"verified {second[:12]}" in out
    assert "--verify strict, 2 commit(s) checked" in out
    assert colour(cluster, namespace) == "red"

    # The same keys from a Secret in gitward's namespace.
    secret = f"keys-{app_name}"
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret, "namespace": "gitward-system"},
            "data": {p.name: base64.b64encode(p.read_bytes()).decode() for p in trusted.iterdir()},
        }
    )
    try:
        set_colour(repo, "white")
        third = commit(repo.path, "gpg-signed", signer=gpg_alice)
        code, out, err = sync(app_name, repo, "--verify", "head", "--trusted-keys-secret", secret)
        assert code == 0, err
        assert f"verified {third[:12]}: signed by trusted key {gpg_alice.fingerprint}" in out
        assert colour(cluster, namespace) == "white"
    finally:
        cluster.delete("v1", "Secret", secret, "gitward-system")

    code, _, err = sync(app_name, repo, "--verify", "head", "--trusted-keys-secret", secret)
    assert code == 2
    assert err.strip() == (
        f"error: Secret gitward-system/{secret} (--trusted-keys-secret): not found"
    )


@pytest.mark.parametrize(
    "case",
    ["unsigned", "untrusted-ssh", "untrusted-gpg", "forged-ssh", "forged-gpg"],
)
def test_a_commit_that_is_not_signed_by_a_trusted_key_applies_nothing(
    cluster: Cluster,
    namespace: str,
    app_name: str,
    repo: ConfigRepo,
    trusted: Path,
    gpg_alice: GpgKey,
    gpg_mallory: GpgKey,
    ssh_keys: dict[str, SshKey],
    case: str,
) -> None:
    set_colour(repo, "blue")
    genuine = commit(repo.path, "signed", signer=ssh_keys["alice"])
    flags = ("--verify", "head", "--trusted-keys", str(trusted))
    assert sync(app_name, repo, *flags)[0] == 0
    history_before = cluster.get("v1", "ConfigMap", f"gitward-app-{app_name}", "gitward-system")
    set_colour(repo, "evil")
    signer: Signer | None = None
    if case == "untrusted-ssh":
        signer = ssh_keys["mallory"]
    elif case == "untrusted-gpg":
        signer = gpg_mallory
    if case == "forged-ssh":
        bad = forge(repo.path, "forged", signature_of=genuine)
    elif case == "forged-gpg":
        gpg_signed = commit(repo.path, "gpg-signed", signer=gpg_alice)
        set_colour(repo, "evil too")
        bad = forge(repo.path, "forged", signature_of=gpg_signed)
    else:
        bad = commit(repo.path, case, signer=signer)

    code, out, err = sync(app_name, repo, *flags)

    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: commit {bad[:12]}: not deployed under --verify head: ")
    assert lines[0].endswith("; nothing was applied")
    if case == "unsigned":
        assert "not signed" in lines[0]
    elif case == "untrusted-ssh":
        assert ssh_keys["mallory"].fingerprint in lines[0]
        assert "not among the trusted keys" in lines[0]
    elif case == "untrusted-gpg":
        assert gpg_mallory.fingerprint[-16:] in lines[0]
    else:
        assert "bad signature" in lines[0]
    assert colour(cluster, namespace) == "blue"
    after = cluster.get("v1", "ConfigMap", f"gitward-app-{app_name}", "gitward-system")
    assert history_before is not None and after is not None
    assert after["metadata"]["resourceVersion"] == history_before["metadata"]["resourceVersion"]


def test_strict_refuses_an_unsigned_commit_in_the_middle_of_the_range(
    cluster: Cluster,
    namespace: str,
    app_name: str,
    repo: ConfigRepo,
    trusted: Path,
    ssh_keys: dict[str, SshKey],
) -> None:
    alice = ssh_keys["alice"]
    strict = ("--verify", "strict", "--trusted-keys", str(trusted))
    set_colour(repo, "blue")
    commit(repo.path, "signed", signer=alice)
    assert sync(app_name, repo, *strict)[0] == 0
    set_colour(repo, "green")
    sneaked = commit(repo.path, "unsigned, pushed by someone")
    set_colour(repo, "red")
    head = commit(repo.path, "signed on top", signer=alice)

    code, _, err = sync(app_name, repo, *strict)

    assert code == 2
    assert err.startswith(
        f"error: commit {sneaked[:12]} (on the way to {head[:12]}): not deployed under "
        "--verify strict: not signed; nothing was applied"
    )
    assert colour(cluster, namespace) == "blue"

    # head mode looks at the commit to deploy only.
    code, _, err = sync(app_name, repo, "--verify", "head", "--trusted-keys", str(trusted))
    assert code == 0, err
    assert colour(cluster, namespace) == "red"


def test_a_repository_makes_verification_stricter_but_never_looser(
    cluster: Cluster,
    namespace: str,
    app_name: str,
    repo: ConfigRepo,
    trusted: Path,
    ssh_keys: dict[str, SshKey],
) -> None:
    alice = ssh_keys["alice"]
    one_app(repo, app_name, namespace)
    repo.write("gitward.yaml", repo.path.joinpath("gitward.yaml").read_text() + "verify: strict\n")
    set_colour(repo, "blue")
    commit(repo.path, "signed", signer=alice)
    head_flags = ("--verify", "head", "--trusted-keys", str(trusted))
    assert sync(app_name, repo, *head_flags)[0] == 0
    set_colour(repo, "green")
    sneaked = commit(repo.path, "unsigned")
    set_colour(repo, "red")
    commit(repo.path, "signed", signer=alice)

    code, _, err = sync(app_name, repo, *head_flags)

    assert code == 2
    assert f"commit {sneaked[:12]}" in err and "--verify strict" in err

    one_app(repo, app_name, namespace)
    repo.write("gitward.yaml", repo.path.joinpath("gitward.yaml").read_text() + "verify: none\n")
    unsigned = commit(repo.path, "switch verification off, unsigned")

    code, _, err = sync(app_name, repo, *head_flags)

    # Dropping verify: is checked as the deployed commit's gitward.yaml says: strict.
    assert code == 2
    assert err.startswith(
        f"error: commit {sneaked[:12]} (on the way to {unsigned[:12]}): not deployed under "
        "--verify strict"
    )
    assert colour(cluster, namespace) == "blue"


def test_verification_on_without_trusted_keys_is_refused_before_anything_runs(
    cluster: Cluster, app_name: str, repo: ConfigRepo
) -> None:
    set_colour(repo, "blue")
    commit(repo.path, "unsigned")

    code, _, err = sync(app_name, repo, env={"GITWARD_VERIFY": "head"})

    assert code == 2
    assert err.strip() == (
        "error: --verify head: no trusted keys; set --trusted-keys DIR or $GITWARD_TRUSTED_KEYS"
    )
    assert cluster.records(app_name) == []
