"""A controller's notices, from its options: a notifier when any provider is configured."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import Counter

from gitward.config.notifications import NotificationSettings
from gitward.forge import Forge, ForgeSettings
from gitward.kube import Kube
from gitward.notify.notices import Notices
from gitward.notify.notifier import DeliveryCounters, Notifier


class _Options(Protocol):
    @property
    def repo(self) -> str: ...
    @property
    def forge(self) -> ForgeSettings | None: ...
    @property
    def public_url(self) -> str: ...
    @property
    def notifications(self) -> NotificationSettings: ...


class _Metrics(Protocol):
    @property
    def notifications_sent_total(self) -> Counter: ...
    @property
    def notifications_failed_total(self) -> Counter: ...


def open_notices(
    *, kube: Kube, options: _Options, forge: Forge | None, metrics: _Metrics
) -> Notices:
    notifier = None
    if options.notifications.any:
        notifier = Notifier(
            kube=kube,
            settings=options.notifications,
            counters=DeliveryCounters(
                sent=metrics.notifications_sent_total, failed=metrics.notifications_failed_total
            ),
            forge=forge,
        )
    return Notices(notifier, repo=options.repo, forge=options.forge, public_url=options.public_url)
