"""Keys from the operator's Secrets: age identities and trusted signing keys."""

from __future__ import annotations

import base64

import pytest

from gitward.config.decryption import DecryptionSettings
from gitward.config.verify import Verification, VerifyMode
from gitward.errors import ConfigError
from gitward.kube import Kube
from gitward.reconcile.keys import decryption_keys, with_trusted_keys
from tests.unit.fakecluster import run, server

IDENTITY = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"


def secret(name: str, entries: dict[str, str]) -> dict[str, object]:
    data = {k: base64.b64encode(v.encode()).decode() for k, v in entries.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "gitward-system"},
        "data": data,
    }


def test_age_identities_come_from_the_agekey_entries_of_the_secret() -> None:
    async def go(kube: Kube) -> str:
        await kube.apply(secret("sops-age", {"age.agekey": IDENTITY, "other": "ignored"}))
        keys = await decryption_keys(kube, DecryptionSettings(secret="sops-age"))
        assert keys is not None
        assert keys.origin == "Secret gitward-system/sops-age"
        return keys.age

    assert run(server(), go).strip() == IDENTITY


def test_a_missing_secret_is_bad_input_naming_it() -> None:
    async def go(kube: Kube) -> None:
        await decryption_keys(kube, DecryptionSettings(secret="nope"))

    with pytest.raises(
        ConfigError, match=r"^Secret gitward-system/nope \(--sops-secret\): not found$"
    ):
        run(server(), go)


def test_a_secret_without_an_age_identity_is_bad_input() -> None:
    async def go(kube: Kube) -> None:
        await kube.apply(secret("sops-age", {"password": "x"}))
        await decryption_keys(kube, DecryptionSettings(secret="sops-age"))

    with pytest.raises(ConfigError, match=r"holds no \*\.agekey entry"):
        run(server(), go)


def test_trusted_keys_are_read_from_their_secret() -> None:
    line = 'alice@example.com namespaces="git" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB\n'

    async def go(kube: Kube) -> Verification:
        await kube.apply(secret("trusted", {"allowed_signers": line}))
        return await with_trusted_keys(
            kube, Verification(mode=VerifyMode.HEAD, keys_secret="trusted")
        )

    verification = run(server(), go)
    assert verification.keys is not None
    assert verification.keys.allowed_signers == line
