"""What the controller keeps in memory: per app, per managed object, and its options."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitward.config.apps import AppSpec
from gitward.config.decryption import DecryptionSettings
from gitward.config.notifications import NotificationSettings
from gitward.config.tenancy import Tenancy
from gitward.config.verify import Verification
from gitward.forge import ForgeSettings
from gitward.objects import Body, ObjectRef
from gitward.record.drifts import DriftRecord
from gitward.record.history import SyncOutcome
from gitward.status import SyncState


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(slots=True)
class Tracked:
    """One object an app manages, and what it looked like when gitward last wrote it.

    Ten thousand of them live as long as the controller: slots, not a dict each."""

    app: str
    ref: ObjectRef
    api_version: str
    desired: Body
    ignore: tuple[str, ...]
    manager: str = ""  # the app's field manager
    uid: str = ""
    fields_hash: str = ""
    values_hash: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    heal_task: asyncio.Task[None] | None = None
    reported: tuple[str, str, str] | None = None  # the drifted state last reported
    live: Body | None = None  # the latest body a watch delivered: health needs no request


@dataclass
class AppState:
    spec: AppSpec
    revision: str = ""
    sync: SyncState = SyncState.UNKNOWN
    message: str = ""
    last_sync_at: str = ""
    last_sync_result: SyncOutcome | None = None  # None: never synced by this controller
    drifts: deque[DriftRecord] = field(default_factory=lambda: deque(maxlen=200))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    busy: bool = False
    inputs: tuple[str, ...] = ()  # what the last render read (repo-relative)
    charts: tuple[str, ...] = ()  # ``name@version`` of the last successful sync


@dataclass(frozen=True)
class ControllerOptions:
    repo: str
    revision: str = "main"
    poll_interval: float = 60.0
    sync_timeout: float = 300.0
    concurrency: int = 16
    # Apps synced at once; independent apps only, dependsOn order is kept.
    max_concurrent_syncs: int = 8
    # Every app is re-rendered and re-planned this often (jittered by ±10%),
    # whatever git says: nothing stays wrong for good if a trigger was missed.
    full_reconcile_interval: float = 600.0
    # The account each app runs as, and the policy bounding it.
    tenancy: Tenancy = field(default_factory=Tenancy)
    # Which commits may deploy, and the key to SOPS-encrypted files.
    verification: Verification = field(default_factory=Verification)
    decryption: DecryptionSettings = field(default_factory=DecryptionSettings)
    # The config repository's forge: pull request previews and deploy statuses go there.
    forge: ForgeSettings | None = None
    # Where people reach this controller's API; deploy statuses link to the app there.
    public_url: str = ""
    # Who hears about syncs, health, drift and refused commits (gitward.notify).
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
