"""Notifications: the controller's events told to webhooks, chat and the forge, once each.

The controller (:mod:`gitward.heal`) hands each event to a :class:`Notifier`
and goes on: delivery runs in the background and never holds up a sync. Each
event has a stable id (app, revision, event, object); what was delivered to
which provider is kept in the cluster beside the app's history
(:mod:`gitward.notify.ledger`), so neither a restart nor a new leader sends it
again. Failed deliveries are retried with exponential backoff for a bounded
time, then given up and counted in ``/metrics``.

This package speaks HTTP to receivers only (webhooks, chat, the forge through
:mod:`gitward.forge`); to the API server it speaks through :mod:`gitward.kube`.
It never prints: what it has to say goes to the controller's log.
"""

from gitward.notify.events import ChartLink, Notification
from gitward.notify.notifier import DeliveryCounters, Notifier

__all__ = ["ChartLink", "DeliveryCounters", "Notification", "Notifier"]
