"""The SOPS decryption key, gathered from the operator's settings for one run.

From a file (read as it is) and/or a Secret in gitward's namespace (its
``*.agekey`` entries). A Secret that does not exist, or holds no key, is bad
input naming it: deploying without the secrets would be worse than stopping.
"""

from __future__ import annotations

import base64
import binascii

from gitward.config.decryption import AGE_KEY_SUFFIX, DecryptionSettings, read_key_file
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


async def _from_secret(kube: Kube, name: str) -> str:
    namespace = record_namespace()
    where = f"Secret {namespace}/{name} (--sops-secret)"
    resource = await kube.resource_for("v1", "Secret")
    secret = await kube.get(resource, name=name, namespace=namespace) if resource else None
    if secret is None:
        raise ConfigError(f"{where}: not found")
    data = secret.get("data") or {}
    keys: list[str] = []
    for entry in sorted(data):
        if entry.endswith(AGE_KEY_SUFFIX):
            try:
                keys.append(base64.b64decode(str(data[entry]), validate=True).decode("utf-8"))
            except (binascii.Error, UnicodeDecodeError) as e:
                raise ConfigError(f"{where}: {entry} is not base64 of UTF-8 text") from e
    if not any("AGE-SECRET-KEY-" in k for k in keys):
        raise ConfigError(f"{where}: holds no *{AGE_KEY_SUFFIX} entry with an age identity")
    return "\n".join(k.strip() for k in keys)
