"""The notification settings checked before the controller starts: bad input stops it.

The file is checked when it is read (:mod:`gitward.config.notifications`);
what it names outside itself is checked here: a forge provider needs the
controller's forge, and every ``secretRef`` must name a Secret in gitward's
namespace that holds the entry. Each failure is one line naming the file and
line of the provider, and the controller exits 2 before it syncs anything.
"""

from __future__ import annotations

from gitward.config.notifications import NotificationSettings, ProviderKind, load_notifications
from gitward.errors import ConfigError
from gitward.kube import Kube
from gitward.notify.secrets import check_secret_refs


def load_settings(path: str | None, *, forge_url: str) -> NotificationSettings:
    """The settings in ``path`` (none: no notifications), checked against the forge setting."""
    if not path:
        return NotificationSettings()
    settings = load_notifications(path)
    for provider in settings.providers:
        if provider.kind is ProviderKind.FORGE and not forge_url:
            raise ConfigError(
                f"{provider.where}: provider {provider.name}: a forge provider needs the "
                "controller's --forge-url (and $GITWARD_FORGE_TOKEN)"
            )
    return settings


async def check_notifications(kube: Kube, settings: NotificationSettings) -> None:
    """Every Secret the settings name exists; else :class:`ConfigError` naming it."""
    await check_secret_refs(kube, settings)
