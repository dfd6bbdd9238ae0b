"""Commit verification with real git, gpg and ssh-keygen, and keys made here."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.config.verify import (
    Verification,
    VerifyMode,
    load_trusted_keys,
    load_verification,
)
from gitward.errors import ConfigError
from gitward.source import GitSource
from gitward.source.commits import Commits
from gitward.source.git import Git
from gitward.source.verifying import CommitRefused, verify_revision
from tests.signing import GpgKey, SshKey, commit, forge


@pytest.fixture(autouse=True)
def author(monkeypatch: pytest.MonkeyPatch) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Ada Lovelace")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ada@example.com")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "-C", str(path), "init", "-q", "-b", "main"], check=True)
    return path


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


@pytest.fixture
def ssh_alice(tmp_path: Path) -> SshKey:
    return SshKey(tmp_path / "ssh", "alice")


@pytest.fixture
def ssh_mallory(tmp_path: Path) -> SshKey:
    return SshKey(tmp_path / "ssh", "mallory")


@pytest.fixture
def trusted(tmp_path: Path, gpg_alice: GpgKey, ssh_alice: SshKey) -> Path:
    """Alice's GPG and SSH keys, and nobody else's."""
    keys = tmp_path / "trusted"
    keys.mkdir()
    gpg_alice.export(keys / "alice.asc")
    (keys / "allowed_signers").write_text(ssh_alice.allowed_signer("alice@example.com"))
    return keys


def write(repo: Path, name: str, text: str) -> None:
    (repo / name).write_text(text)


def commits_of(repo: Path) -> Commits:
    source = GitSource(url=f"file://{repo}")
    source.resolve("main")
    return source.commits()


def verification(keys: Path, mode: VerifyMode = VerifyMode.HEAD) -> Verification:
    return Verification(mode=mode, keys=load_trusted_keys(str(keys)))


@pytest.mark.parametrize("signer_name", ["ssh", "gpg"])
def test_a_commit_signed_by_a_trusted_key_is_verified(
    repo: Path, trusted: Path, ssh_alice: SshKey, gpg_alice: GpgKey, signer_name: str
) -> None:
    signer = ssh_alice if signer_name == "ssh" else gpg_alice
    write(repo, "a.yaml", "a: 1\n")
    sha = commit(repo, "signed", signer=signer)

    verified = verify_revision(commits_of(repo), target=sha, verification=verification(trusted))

    assert verified.sha == sha
    assert verified.key == signer.fingerprint
    assert verified.checked == 1


def test_an_unsigned_commit_is_refused_naming_it(repo: Path, trusted: Path) -> None:
    write(repo, "a.yaml", "a: 1\n")
    sha = commit(repo, "unsigned")

    with pytest.raises(CommitRefused) as refused:
        verify_revision(commits_of(repo), target=sha, verification=verification(trusted))

    message = str(refused.value)
    assert message.startswith(f"commit {sha[:12]}: not deployed under --verify head: not signed")
    assert "\n" not in message
    assert refused.value.exit_code == 2


@pytest.mark.parametrize("signer_name", ["ssh", "gpg"])
def test_a_commit_signed_by_an_untrusted_key_is_refused_naming_the_key(
    repo: Path, trusted: Path, ssh_mallory: SshKey, gpg_mallory: GpgKey, signer_name: str
) -> None:
    signer = ssh_mallory if signer_name == "ssh" else gpg_mallory
    write(repo, "a.yaml", "a: 1\n")
    sha = commit(repo, "mallory", signer=signer)

    with pytest.raises(CommitRefused) as refused:
        verify_revision(commits_of(repo), target=sha, verification=verification(trusted))

    message = str(refused.value)
    assert f"commit {sha[:12]}" in message
    # gpg knows only the key id of a key it does not have: its fingerprint's tail.
    key = signer.fingerprint if signer_name == "ssh" else signer.fingerprint[-16:]
    assert key in message, message
    assert "trusted" in message


@pytest.mark.parametrize("signer_name", ["ssh", "gpg"])
def test_a_signature_copied_from_another_commit_is_refused_as_forged(
    repo: Path, trusted: Path, ssh_alice: SshKey, gpg_alice: GpgKey, signer_name: str
) -> None:
    signer = ssh_alice if signer_name == "ssh" else gpg_alice
    write(repo, "a.yaml", "a: 1\n")
    genuine = commit(repo, "genuine", signer=signer)
    write(repo, "a.yaml", "a: evil\n")
    forged = forge(repo, "forged", signature_of=genuine)

    with pytest.raises(CommitRefused) as refused:
        verify_revision(commits_of(repo), target=forged, verification=verification(trusted))

    assert f"commit {forged[:12]}" in str(refused.value)
    assert "bad signature" in str(refused.value)


def test_strict_refuses_an_unsigned_commit_in_the_middle_that_head_lets_through(
    repo: Path, trusted: Path, ssh_alice: SshKey
) -> None:
    write(repo, "a.yaml", "a: 1\n")
    deployed = commit(repo, "deployed", signer=ssh_alice)
    write(repo, "a.yaml", "a: 2\n")
    sneaked = commit(repo, "unsigned, in the middle")
    write(repo, "a.yaml", "a: 3\n")
    head = commit(repo, "signed on top", signer=ssh_alice)
    commits = commits_of(repo)

    assert verify_revision(commits, target=head, verification=verification(trusted)).checked == 1
    with pytest.raises(CommitRefused) as refused:
        verify_revision(
            commits,
            target=head,
            verification=verification(trusted, VerifyMode.STRICT),
            bases=[deployed],
        )

    message = str(refused.value)
    assert message.startswith(f"commit {sneaked[:12]} (on the way to {head[:12]})")
    assert "not signed" in message


def test_strict_checks_every_commit_since_the_last_deployed_one(
    repo: Path, trusted: Path, ssh_alice: SshKey, gpg_alice: GpgKey
) -> None:
    write(repo, "a.yaml", "a: 0\n")
    commit(repo, "old and unsigned, before anything deployed")
    write(repo, "a.yaml", "a: 1\n")
    deployed = commit(repo, "deployed", signer=ssh_alice)
    write(repo, "a.yaml", "a: 2\n")
    commit(repo, "gpg", signer=gpg_alice)
    write(repo, "a.yaml", "a: 3\n")
    head = commit(repo, "ssh", signer=ssh_alice)

    verified = verify_revision(
        commits_of(repo),
        target=head,
        verification=verification(trusted, VerifyMode.STRICT),
        bases=[deployed],
    )

    assert verified.checked == 2


def test_strict_refuses_when_the_last_deployed_commit_is_gone(
    repo: Path, trusted: Path, ssh_alice: SshKey
) -> None:
    head = commit(repo, "signed", signer=ssh_alice)

    with pytest.raises(CommitRefused, match=r"is not in .* any more"):
        verify_revision(
            commits_of(repo),
            target=head,
            verification=verification(trusted, VerifyMode.STRICT),
            bases=["0" * 40],
        )


def test_uncommitted_changes_are_never_verified(repo: Path, trusted: Path) -> None:
    commits = Commits(git=Git(subject=str(repo), timeout=30), directory=repo)
    with pytest.raises(CommitRefused, match="uncommitted changes"):
        verify_revision(commits, target="a" * 40 + "-dirty", verification=verification(trusted))


def test_no_key_directory_is_left_behind(
    repo: Path, trusted: Path, ssh_alice: SshKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    sha = commit(repo, "signed", signer=ssh_alice)

    verify_revision(commits_of(repo), target=sha, verification=verification(trusted))

    assert list(scratch.iterdir()) == []


def test_verification_on_without_trusted_keys_is_bad_input() -> None:
    with pytest.raises(ConfigError, match=r"^--verify head: no trusted keys; set --trusted-keys"):
        load_verification(mode="head", trusted_keys=None)


def test_an_unknown_mode_is_bad_input(trusted: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--verify 'sometimes': not a verification mode"):
        load_verification(mode="sometimes", trusted_keys=str(trusted))


def test_a_key_directory_without_keys_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no trusted key"):
        load_verification(mode="strict", trusted_keys=str(tmp_path))


def test_a_repository_can_tighten_the_operators_mode_but_never_loosen_it(trusted: Path) -> None:
    head = verification(trusted, VerifyMode.HEAD)

    assert head.tightened_by(VerifyMode.STRICT, where="gitward.yaml:1").mode is VerifyMode.STRICT
    assert head.tightened_by(VerifyMode.NONE, where="gitward.yaml:1").mode is VerifyMode.HEAD
    assert head.tightened_by(None, where="gitward.yaml:1").mode is VerifyMode.HEAD


def test_a_repository_asking_for_verification_the_operator_cannot_do_is_bad_input() -> None:
    with pytest.raises(ConfigError, match=r"^gitward.yaml:3: verify: strict needs trusted keys"):
        Verification().tightened_by(VerifyMode.STRICT, where="gitward.yaml:3")
