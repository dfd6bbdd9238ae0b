"""Keys named by the operator's settings, gathered for one run: SOPS decryption
keys and trusted signing keys.

Each may come from a file and/or a Secret in gitward's namespace. A Secret
that does not exist, or holds no key, is bad input naming it: deploying
without the secrets, or unverified, would be worse than stopping.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace

from gitward.config.decryption import AGE_KEY_SUFFIX, DecryptionSettings, read_key_file
from gitward.config.verify import TrustedKeys, Verification
from gitward.errors import ConfigError
from gitward.kube import Kube
from gitward.record.store import record_namespace
from gitward.render.decrypting import DecryptionKeys, Decryptor


async def decryption_keys(kube: Kube, settings: DecryptionSettings) -> DecryptionKeys | None:
    """The age identities the settings name; ``None`` when they name none."""
    parts: list[str] = []
    origins: list[str] = []
    if settings.key_file is not None:
        parts.append(read_key_file(settings.key_file))
        origins.append(f"file {settings.key_file}")
    if settings.secret:
        parts.append(await _from_secret(kube, settings.secret))
        origins.append(f"Secret {record_namespace()}/{settings.secret}")
    if not parts:
        return None
    return DecryptionKeys(age="\n".join(p.strip() for p in parts) + "\n", origin=", ".join(origins))


async def decryptor_for(kube: Kube, settings: DecryptionSettings) -> Decryptor:
    return Decryptor(await decryption_keys(kube, settings))


async def with_trusted_keys(kube: Kube, verification: Verification) -> Verification:
    """``verification`` with its keys read from its Secret, when it names one."""
    if verification.keys is not None or not verification.keys_secret:
        return verification
    name = verification.keys_secret
    where = f"Secret {record_namespace()}/{name} (--trusted-keys-secret)"
    entries = await _secret_entries(kube, name, where=where)
    keys = TrustedKeys.of(where, entries, subject=where)
    return replace(verification, keys=keys)


async def _from_secret(kube: Kube, name: str) -> str:
    where = f"Secret {record_namespace()}/{name} (--sops-secret)"
    entries = await _secret_entries(kube, name, where=where)
    keys = [text for entry, text in sorted(entries.items()) if entry.endswith(AGE_KEY_SUFFIX)]
    if not any("AGE-SECRET-KEY-" in k for k in keys):
        raise ConfigError(f"{where}: holds no *{AGE_KEY_SUFFIX} entry with an age identity")
    return "\n".join(k.strip() for k in keys)


async def _secret_entries(kube: Kube, name: str, *, where: str) -> dict[str, str]:
    """The Secret's entries as text; a missing Secret is bad input naming it."""
    namespace = record_namespace()
    resource = await kube.resource_for("v1", "Secret")
    secret = await kube.get(resource, name=name, namespace=namespace) if resource else None
    if secret is None:
        raise ConfigError(f"{where}: not found")
    out: dict[str, str] = {}
    for entry, value in (secret.get("data") or {}).items():
        try:
            out[entry] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise ConfigError(f"{where}: {entry} is not base64 of UTF-8 text") from e
    return out
