"""A scripted receiver behind httpx's MockTransport, and a notifier wired to it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from gitward.api.metrics import Registry, controller_metrics
from gitward.config.notifications import (
    EventKind,
    NotificationSettings,
    Provider,
    ProviderKind,
    RetryPolicy,
    SecretRef,
)
from gitward.forge import Forge
from gitward.kube import Kube
from gitward.notify import DeliveryCounters, Notification, Notifier

SHA = "b" * 40
SECRET = b"hook-secret"


@dataclass
class Receiver:
    """Answers each request with the next status in ``script`` (then 200)."""

    script: list[int] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            status = self.script.pop(0) if self.script else 200
            return httpx.Response(status)

        return httpx.MockTransport(handle)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def webhook(
    name: str = "ops", *, apps: Iterable[str] = (), events: Iterable[EventKind] = EventKind
) -> Provider:
    return Provider(
        name=name,
        kind=ProviderKind.WEBHOOK,
        url=f"http://127.0.0.1:9/{name}",
        secret_ref=SecretRef(name="gitward-notify", key="hmac"),
        apps=tuple(apps),
        events=frozenset(events),
        where="notify.yaml:3",
    )


def settings(*providers: Provider, give_up_after: float = 30.0) -> NotificationSettings:
    return NotificationSettings(
        providers=providers,
        retry=RetryPolicy(initial=0.01, maximum=0.05, give_up_after=give_up_after),
        filename="notify.yaml",
    )


async def add_secret(kube: Kube, value: bytes = SECRET) -> None:
    await kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "gitward-notify", "namespace": "gitward-system"},
            "data": {"hmac": base64.b64encode(value).decode()},
        }
    )


def notifier(
    kube: Kube,
    config: NotificationSettings,
    receiver: Receiver,
    *,
    registry: Registry | None = None,
    forge: Forge | None = None,
) -> Notifier:
    metrics = controller_metrics(registry or Registry())
    return Notifier(
        kube=kube,
        settings=config,
        counters=DeliveryCounters(
            sent=metrics.notifications_sent_total, failed=metrics.notifications_failed_total
        ),
        forge=forge,
        transport=receiver.transport(),
    )


def note(
    event: EventKind = EventKind.SYNC_FAILED, *, app: str = "shop", revision: str = SHA
) -> Notification:
    return Notification(
        event=event,
        app=app,
        key=f"prod.{app}",
        revision=revision,
        message="Deployment/shop/web: apply failed: quota exceeded",
        revision_url=f"https://git.example/acme/config/commit/{revision}",
        app_url=f"http://127.0.0.1:8080/api/v1/apps/{app}",
        occurred_at="2026-01-01T00:00:00.000+00:00",
    )
