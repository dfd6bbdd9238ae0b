"""Whether a revision may deploy: the operator's verification, against what was deployed last.

``strict`` mode checks every commit since the last one each app deployed
successfully, as its history in the cluster records it; ``head`` only the
commit itself. The check runs before anything is rendered, so a refused
commit never reaches a decryption key or the cluster.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable

from gitward.config.apps import AppSpec
from gitward.config.verify import Verification, VerifyMode
from gitward.kube import Kube
from gitward.record import history
from gitward.record.history import SyncOutcome
from gitward.source.commits import Commits
from gitward.source.verifying import Verified, verify_revision

_FULL_SHA = re.compile(r"[0-9a-f]{40}")


async def last_deployed(kube: Kube, apps: Iterable[AppSpec]) -> tuple[str, ...]:
    """The commit each app last synced successfully from (apps never synced add none)."""
    found: list[str] = []
    for app in apps:
        for record in await history.load(kube, app.id.key):
            if record.result is SyncOutcome.SUCCEEDED and _FULL_SHA.fullmatch(record.revision):
                found.append(record.revision)
                break
    return tuple(dict.fromkeys(found))


async def verify_deployable(
    kube: Kube,
    *,
    commits: Commits,
    sha: str,
    apps: Iterable[AppSpec],
    verification: Verification,
) -> Verified:
    """Raise :class:`~gitward.source.verifying.CommitRefused` unless ``sha`` may deploy."""
    bases = await last_deployed(kube, apps) if verification.mode is VerifyMode.STRICT else ()
    return await asyncio.to_thread(
        verify_revision, commits, target=sha, verification=verification, bases=bases
    )
