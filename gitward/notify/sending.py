"""Sending one notification to one provider: one attempt, which succeeds or says whether
to try again.

A receiver that answers 2xx has it. A 5xx, 408, 429 or no answer at all is
temporary (:class:`DeliveryFailed` with ``retry``); any other answer is the
receiver refusing this message for good (a wrong URL, a rejected signature),
and trying again would only repeat it. A signing secret that cannot be read
is temporary too: it may be being rotated.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from gitward.config.notifications import Provider, ProviderKind
from gitward.errors import ConfigError, GitwardError
from gitward.forge import Forge, ForgeError, ForgeUnreachable
from gitward.kube import Kube, KubeError
from gitward.notify import messages
from gitward.notify.events import Notification
from gitward.notify.secrets import signing_secret

_TEMPORARY = {408, 425, 429}


class DeliveryFailed(GitwardError):
    """One attempt failed; ``retry`` says whether another may succeed."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class Sender:
    """Sends through one HTTP client (webhooks, chat) and the forge, when there is one."""

    def __init__(self, *, kube: Kube, http: httpx.AsyncClient, forge: Forge | None) -> None:
        self.kube = kube
        self.http = http
        self.forge = forge

    async def send(self, provider: Provider, note: Notification) -> None:
        if provider.kind is ProviderKind.FORGE:
            await self._forge(provider, note)
            return
        if provider.kind is ProviderKind.WEBHOOK:
            try:
                secret = await signing_secret(self.kube, provider)
            except (ConfigError, KubeError) as e:
                raise DeliveryFailed(str(e), retry=True) from e
            body = messages.webhook_body(note)
            headers = messages.webhook_headers(note, body, secret)
            url = provider.url
        else:
            body = messages.slack_bytes(note)
            headers = {"Content-Type": "application/json"}
            url = await self._slack_url(provider)
        await self._post(provider, url, body, headers)

    async def _slack_url(self, provider: Provider) -> str:
        """The incoming webhook's URL: in the settings, or in the Secret or file they name.

        Read at each delivery, like a signing secret, so a rotated URL takes the
        next message; never put into an error, since it is the credential.
        """
        if provider.secret_ref is None and provider.secret_file is None:
            return provider.url
        try:
            raw = await signing_secret(self.kube, provider)
        except (ConfigError, KubeError) as e:
            raise DeliveryFailed(str(e), retry=True) from e
        try:
            url = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            url = ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeliveryFailed(
                f"{provider.where}: provider {provider.name}: its secret does not hold an "
                "http(s) URL",
                retry=True,
            )
        return url

    async def _post(
        self, provider: Provider, url: str, body: bytes, headers: dict[str, str]
    ) -> None:
        subject = f"provider {provider.name} ({provider.kind.value})"
        try:
            response = await self.http.post(url, content=body, headers=headers)
        except httpx.HTTPError as e:
            # The URL may hold a token (a Slack webhook's does): name the provider only.
            raise DeliveryFailed(f"{subject}: no answer: {type(e).__name__}", retry=True) from e
        status = response.status_code
        if 200 <= status < 300:
            return
        temporary = status >= 500 or status in _TEMPORARY
        raise DeliveryFailed(f"{subject}: answered HTTP {status}", retry=temporary)

    async def _forge(self, provider: Provider, note: Notification) -> None:
        subject = f"provider {provider.name} (forge)"
        if self.forge is None:
            raise DeliveryFailed(f"{subject}: no forge configured (--forge-url)", retry=False)
        if not note.revision:
            return
        try:
            await self.forge.set_status(sha=note.revision, status=messages.commit_status(note))
        except ForgeUnreachable as e:
            raise DeliveryFailed(f"{subject}: {e}", retry=True) from e
        except ForgeError as e:
            raise DeliveryFailed(f"{subject}: {e}", retry=False) from e
