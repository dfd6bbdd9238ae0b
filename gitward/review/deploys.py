"""``gitward/deploy/<app>`` commit statuses, sent exactly once per app, revision and state.

The controller tells the merged commit how its deploy went: ``pending``
while applying, then ``success`` once Healthy or ``failure`` with the
reason. A status must not be sent twice (Argo CD's notifications are known
to), not by a retry, a restart, nor a new leader after a failover; so what
was sent is kept in the cluster with the app's other records, in ConfigMap
``gitward-deploys-<app key>``.

Each send is recorded twice: as ``sending`` before the forge is asked, as
``sent`` after. A leader that dies in between leaves ``sending``; whoever
comes next asks the forge whether that status is already on the commit (the
forge is the truth for what it shows) and sends it only if it is not. Once a
final state (success, failure) is on a revision, no ``pending`` follows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitward.forge import CommitState, CommitStatus, Forge, short_description
from gitward.kube import Kube
from gitward.record import store

CONTEXT_PREFIX = "gitward/deploy/"
#: Revisions whose statuses are remembered per app (older ones are never reported again).
KEEP_REVISIONS = 20

_FINAL = (CommitState.SUCCESS, CommitState.FAILURE, CommitState.ERROR)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["revisions"],
    "properties": {
        "revisions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["revision", "states"],
                "properties": {
                    "revision": {"type": "string"},
                    "states": {
                        "type": "object",
                        "additionalProperties": {"enum": ["sending", "sent"]},
                    },
                },
            },
        }
    },
}

KIND = store.RecordKind(
    what="deploy status",
    schema=SCHEMA,
    remedy=(
        "delete it (kubectl -n {namespace} delete configmap {name}); at worst a deploy "
        "status already on a commit is sent again"
    ),
)


@dataclass(frozen=True)
class DeployStatus:
    app: str  # the app's name, as the context says it
    key: str  # the app's record key (``<environment>.<name>``)
    revision: str
    state: CommitState
    description: str = ""
    target_url: str = ""

    @property
    def context(self) -> str:
        return CONTEXT_PREFIX + self.app

    def as_commit_status(self) -> CommitStatus:
        return CommitStatus(
            context=self.context,
            state=self.state,
            description=short_description(self.description),
            target_url=self.target_url,
        )


def configmap_name(key: str) -> str:
    return f"gitward-deploys-{key}"


async def report(kube: Kube, forge: Forge, status: DeployStatus) -> bool:
    """Send ``status`` unless it (or a final state, for ``pending``) was already; whether sent."""
    name = configmap_name(status.key)
    doc = await store.read(kube, name, kind=KIND) or {"revisions": []}
    entries: list[dict[str, Any]] = doc["revisions"]
    entry = next((e for e in entries if e["revision"] == status.revision), None)
    if entry is None:
        entry = {"revision": status.revision, "states": {}}
        entries.insert(0, entry)
    states: dict[str, str] = entry["states"]
    said = states.get(status.state.value)
    if said == "sent":
        return False
    if status.state is CommitState.PENDING and any(s.value in states for s in _FINAL):
        return False
    if said == "sending" and await _on_forge(forge, status):
        states[status.state.value] = "sent"
        await _write(kube, name, status, entries)
        return False
    states[status.state.value] = "sending"
    await _write(kube, name, status, entries)
    await forge.set_status(sha=status.revision, status=status.as_commit_status())
    states[status.state.value] = "sent"
    await _write(kube, name, status, entries)
    return True


async def _on_forge(forge: Forge, status: DeployStatus) -> bool:
    shown = {s.context: s for s in await forge.statuses(status.revision)}
    there = shown.get(status.context)
    return there is not None and there.state is status.state


async def _write(
    kube: Kube, name: str, status: DeployStatus, entries: list[dict[str, Any]]
) -> None:
    await store.write(
        kube,
        name,
        {"revisions": entries[:KEEP_REVISIONS]},
        labels={"gitward.io/app": status.key, "gitward.io/record": "deploys"},
    )


async def forget(kube: Kube, key: str) -> None:
    """Drop an app's deploy status records (the app left gitward.yaml)."""
    await store.delete(kube, configmap_name(key))
