"""A cluster view that answers from what a test says, for promotions without a cluster."""

from __future__ import annotations

from gitward.config.apps import AppSpec
from gitward.health import Health, HealthStatus
from gitward.objects import Manifest, ObjectRef
from gitward.plan.model import Action, ObjectError, Plan, PlannedObject
from gitward.plan.order import SortKey
from gitward.record.history import SyncRecord
from gitward.source.revisions import Revision
from gitward.status import AppStatus, SyncState


class FakeCluster:
    def __init__(self) -> None:
        self.planned: list[str] = []
        self.refuse: dict[str, str] = {}  # app -> dry-run error
        self.records: dict[str, list[SyncRecord]] = {}
        self.health: dict[str, HealthStatus] = {}

    async def plan(self, app: AppSpec, manifests: tuple[Manifest, ...]) -> Plan:
        self.planned.append(app.name)
        if app.name in self.refuse:
            error = ObjectError(ref=None, source="web.yaml", message=self.refuse[app.name])
            return Plan(app=app.name, objects=(), errors=(error,))
        objects = tuple(
            PlannedObject(
                ref=ObjectRef.of(m.body),
                api_version=str(m.body.get("apiVersion")),
                action=Action.UPDATE,
                source=m.source,
                sort_key=SortKey(1, 2, 0, 0, "", "", ""),
                diff=f"--- live\n+++ git\n+{m.body.get('kind')}",
            )
            for m in manifests
        )
        return Plan(app=app.name, objects=objects)

    async def history(self, app: AppSpec) -> list[SyncRecord]:
        return list(self.records.get(app.name, []))

    async def status(
        self, app: AppSpec, manifests: tuple[Manifest, ...], revision: Revision
    ) -> AppStatus:
        health = self.health.get(app.name, HealthStatus.HEALTHY)
        return AppStatus(
            app=app.name,
            sync=SyncState.SYNCED,
            health=Health(health, "" if health is HealthStatus.HEALTHY else "web: Degraded"),
            revision=revision.sha,
            last_synced_revision="",
            last_synced_at="",
            objects=(),
            reason="" if health is HealthStatus.HEALTHY else "Deployment/web is Degraded",
        )
