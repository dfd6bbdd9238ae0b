"""Providers' secrets: an entry of a Secret in gitward's namespace, or a file.

A webhook's messages are signed with it; a Slack-compatible provider's is
its incoming webhook URL.

Read for every delivery, so a rotated secret signs the next message. A
Secret reference is also checked when the controller starts
(:func:`check_secret_refs`): a Secret or entry that does not exist is bad
input naming the Secret and the settings line, not a stream of failed
deliveries discovered later.
"""

from __future__ import annotations

import base64
import binascii

from gitward.config.notifications import NotificationSettings, Provider
from gitward.errors import ConfigError
from gitward.kube import Kube
from gitward.record.store import record_namespace


async def signing_secret(kube: Kube, provider: Provider) -> bytes:
    """``provider``'s secret (a signing key, or a chat webhook's URL); :class:`ConfigError`
    naming it."""
    if provider.secret_file is not None:
        try:
            secret = provider.secret_file.read_bytes().strip()
        except OSError as e:
            raise ConfigError(
                f"{provider.where}: provider {provider.name}: cannot read secret file "
                f"{provider.secret_file}: {e}"
            ) from e
        if not secret:
            raise ConfigError(
                f"{provider.where}: provider {provider.name}: secret file "
                f"{provider.secret_file} is empty"
            )
        return secret
    ref = provider.secret_ref
    if ref is None:
        return b""
    where = f"{provider.where}: provider {provider.name}: Secret {record_namespace()}/{ref.name}"
    resource = await kube.resource_for("v1", "Secret")
    body = (
        await kube.get(resource, name=ref.name, namespace=record_namespace()) if resource else None
    )
    if body is None:
        raise ConfigError(f"{where} not found")
    value = (body.get("data") or {}).get(ref.key)
    if value is None:
        raise ConfigError(f"{where} has no entry {ref.key!r}")
    try:
        secret = base64.b64decode(str(value), validate=True).strip()
    except binascii.Error as e:
        raise ConfigError(f"{where}: entry {ref.key!r} is not base64") from e
    if not secret:
        raise ConfigError(f"{where}: entry {ref.key!r} is empty")
    return secret


async def check_secret_refs(kube: Kube, settings: NotificationSettings) -> None:
    """Every Secret the settings name exists and holds its entry; else :class:`ConfigError`."""
    for provider in settings.providers:
        if provider.secret_ref is not None:
            await signing_secret(kube, provider)
