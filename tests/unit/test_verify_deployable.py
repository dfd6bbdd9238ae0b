"""Which commits a sync checks: the operator's mode, tightened by gitward.yaml now and as deployed.

Real git and ssh-keygen; the history lives on the in-memory API server.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from gitward.config.verify import Verification, VerifyMode, load_trusted_keys
from gitward.kube import Kube
from gitward.reconcile.verifying import verify_deployable
from gitward.record import apprecords
from gitward.record.apprecords import AppRecords
from gitward.record.history import SyncOutcome, SyncRecord
from gitward.source import GitSource
from gitward.source.verifying import CommitRefused, Verified
from tests.signing import SshKey, commit
from tests.unit.fakecluster import APP, run, server

APP_YAML = "apps: [{name: shop, path: apps/shop, namespace: shop}]\n"


@pytest.fixture(autouse=True)
def author(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Ada Lovelace")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ada@example.com")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "-C", str(path), "init", "-q", "-b", "main"], check=True)
    return path


@pytest.fixture
def alice(tmp_path: Path) -> SshKey:
    return SshKey(tmp_path / "ssh", "alice")


@pytest.fixture
def keys(tmp_path: Path, alice: SshKey) -> Verification:
    """Trusted keys given, mode left at none."""
    directory = tmp_path / "trusted"
    directory.mkdir()
    (directory / "allowed_signers").write_text(alice.allowed_signer("alice@example.com"))
    return Verification(mode=VerifyMode.NONE, keys=load_trusted_keys(str(directory)))


def deployed(sha: str) -> SyncRecord:
    return SyncRecord(
        app=APP.id.key,
        revision=sha,
        ref="main",
        author="Ann",
        subject="deployed",
        started_at="2026-12-02T08:00:00+00:00",
        duration_seconds=1.0,
        result=SyncOutcome.SUCCEEDED,
    )


def check(
    repo: Path, sha: str, operator: Verification, *, last: str | None, repo_mode: VerifyMode | None
) -> Verified | None:
    source = GitSource(url=f"file://{repo}", cache_dir=repo.parent / "cache")
    source.resolve("main")
    srv = server()

    async def go(kube: Kube) -> Verified | None:
        if last is not None:
            records = AppRecords(app=APP.id.key, history=(deployed(last),))
            await apprecords.save(kube, records, stored=AppRecords(app=APP.id.key))
        return await verify_deployable(
            kube,
            commits=source.commits(),
            sha=sha,
            apps=[APP],
            operator=operator,
            repo_mode=repo_mode,
            repo_line=1,
        )

    return run(srv, go)


def test_nothing_is_checked_when_neither_operator_nor_repository_asks(
    repo: Path, keys: Verification
) -> None:
    (repo / "gitward.yaml").write_text(APP_YAML)
    sha = commit(repo, "unsigned")

    assert check(repo, sha, keys, last=None, repo_mode=None) is None


def test_a_commit_that_drops_verify_from_gitward_yaml_is_checked_as_the_deployed_one_says(
    repo: Path, keys: Verification, alice: SshKey
) -> None:
    (repo / "gitward.yaml").write_text(APP_YAML + "verify: head\n")
    signed = commit(repo, "signed, asks for verification", signer=alice)
    (repo / "gitward.yaml").write_text(APP_YAML)
    unsigned = commit(repo, "unsigned, drops it")

    with pytest.raises(CommitRefused, match=rf"^commit {unsigned[:12]}: .* --verify head: not"):
        check(repo, unsigned, keys, last=signed, repo_mode=None)


def test_the_repository_mode_applies_with_the_operators_keys(
    repo: Path, keys: Verification, alice: SshKey
) -> None:
    (repo / "gitward.yaml").write_text(APP_YAML + "verify: head\n")
    signed = commit(repo, "signed", signer=alice)

    verified = check(repo, signed, keys, last=None, repo_mode=VerifyMode.HEAD)

    assert verified is not None and verified.mode is VerifyMode.HEAD
    assert verified.key == alice.fingerprint


def test_strict_counts_from_the_commit_the_history_says_deployed(
    repo: Path, keys: Verification, alice: SshKey
) -> None:
    (repo / "gitward.yaml").write_text(APP_YAML)
    commit(repo, "unsigned, long ago")
    base = commit(repo, "signed, deployed", signer=alice)
    commit(repo, "signed", signer=alice)
    head = commit(repo, "signed", signer=alice)
    strict = dataclasses.replace(keys, mode=VerifyMode.STRICT)

    verified = check(repo, head, strict, last=base, repo_mode=None)

    assert verified is not None and verified.checked == 2
