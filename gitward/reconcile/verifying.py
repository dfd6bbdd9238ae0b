"""Whether a revision may deploy: the operator's verification, against what was deployed last.

``strict`` mode checks every commit since the last one each app deployed
successfully, as its history in the cluster records it; ``head`` only the
commit itself. The check runs before anything is rendered, so a refused
commit never reaches a decryption key or the cluster.

The repository may tighten the mode with ``verify:`` in ``gitward.yaml``.
Both the commit to deploy and the commits deployed last are read for it, so
a commit that deletes ``verify: strict`` is itself checked under ``strict``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable

from gitward.config.apps import AppSpec
from gitward.config.loader import FILENAME, parse_repo_config
from gitward.config.verify import Verification, VerifyMode
from gitward.errors import ConfigError, RecordCorrupt
from gitward.kube import Kube
from gitward.reconcile.keys import with_trusted_keys
from gitward.record import apprecords
from gitward.record.history import SyncOutcome
from gitward.source.commits import Commits
from gitward.source.verifying import Verified, verify_revision

_FULL_SHA = re.compile(r"[0-9a-f]{40}")


async def last_deployed(kube: Kube, apps: Iterable[AppSpec]) -> tuple[str, ...]:
    """The commit each app last synced successfully from.

    Apps never synced add none; neither does an app whose history is corrupt:
    its own sync fails on that record before it applies anything.
    """
    found: list[str] = []
    for app in apps:
        try:
            records = (await apprecords.load(kube, app.id.key)).history
        except RecordCorrupt:
            continue
        for record in records:
            if record.result is SyncOutcome.SUCCEEDED and _FULL_SHA.fullmatch(record.revision):
                found.append(record.revision)
                break
    return tuple(dict.fromkeys(found))


def repo_mode_at(commits: Commits, sha: str) -> VerifyMode | None:
    """``verify:`` in ``gitward.yaml`` at commit ``sha``; ``None`` if unset or unreadable."""
    text = commits.read(sha, FILENAME)
    if text is None:
        return None
    try:
        return parse_repo_config(text).verify
    except ConfigError:
        return None


async def verify_deployable(
    kube: Kube,
    *,
    commits: Commits,
    sha: str,
    apps: Iterable[AppSpec],
    operator: Verification,
    repo_mode: VerifyMode | None,
    repo_line: int = 0,
) -> Verified | None:
    """Raise :class:`~gitward.source.verifying.CommitRefused` unless ``sha`` may deploy.

    ``repo_mode`` is ``verify:`` of the commit to deploy (at ``repo_line``).
    Returns ``None`` when no verification applies.
    """
    apps = tuple(apps)
    bases = await last_deployed(kube, apps)
    verification = operator.tightened_by(repo_mode, where=f"{FILENAME}:{repo_line}")
    for base in bases:
        earlier = await asyncio.to_thread(repo_mode_at, commits, base)
        verification = verification.tightened_by(earlier, where=f"{FILENAME} at {base[:12]}")
    if not verification.enabled:
        return None
    verification = await with_trusted_keys(kube, verification)
    return await asyncio.to_thread(
        verify_revision,
        commits,
        target=sha,
        verification=verification,
        bases=bases if verification.mode is VerifyMode.STRICT else (),
    )
