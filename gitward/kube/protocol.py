"""What the core (plan, apply, sync, heal) asks of an API server client, as a Protocol.

:class:`~gitward.kube.client.Kube` is the one implementation; mypy checks that
it satisfies this protocol (``_conforms`` below), so a verb the core starts to
use shows up here, and a change to the client's signatures that would break
the core fails the type check rather than a test run.

Unit tests need no second implementation: they run the real client against
the in-memory API server in :mod:`gitward.kube.fake` through httpx's
``MockTransport``, which exercises the client's own request building and
error mapping too. The protocol is what a different client (or a recording
proxy) would have to provide; the core's signatures keep naming the concrete
client until such a thing exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gitward.kube.discovery import Resource, RestMapper
from gitward.kube.openapi import Schemas
from gitward.objects import Body

if TYPE_CHECKING:
    from gitward.kube._transport import RequestStats
    from gitward.kube.client import Kube, WatchEvent


class KubeAPI(Protocol):
    """The verbs gitward's core uses; every method raises ``KubeError`` subclasses only."""

    @property
    def stats(self) -> RequestStats: ...

    @property
    def mapper(self) -> RestMapper: ...

    @property
    def unimpersonated(self) -> KubeAPI: ...

    @property
    def impersonated_user(self) -> str: ...

    def impersonating(self, *, user: str, groups: Sequence[str] = ()) -> KubeAPI: ...

    async def discover(self, *, refresh: bool = False) -> RestMapper: ...

    async def resource_for(self, api_version: str, kind: str) -> Resource | None: ...

    async def openapi_schemas(self, api_version: str) -> Schemas | None: ...

    async def get(self, resource: Resource, *, name: str, namespace: str = "") -> Body | None: ...

    async def list(
        self, resource: Resource, *, namespace: str = "", label_selector: str = ""
    ) -> tuple[list[Body], str]: ...

    async def apply(
        self,
        body: Body,
        *,
        force: bool = False,
        dry_run: bool = False,
        field_manager: str = ...,
    ) -> Body: ...

    async def apply_new(
        self, body: Body, *, force: bool = False, field_manager: str = ...
    ) -> tuple[Body, bool]: ...

    async def create(self, body: Body, *, field_manager: str = ...) -> Body: ...

    async def replace(self, body: Body, *, field_manager: str = ...) -> Body: ...

    async def delete(
        self,
        resource: Resource,
        *,
        name: str,
        namespace: str = "",
        propagation: str = "Background",
        uid: str | None = None,
    ) -> bool: ...

    def watch(
        self,
        resource: Resource,
        *,
        namespace: str = "",
        resource_version: str = "",
        timeout_seconds: int = 300,
        label_selector: str = "",
    ) -> AsyncIterator[WatchEvent]: ...

    async def ready(self) -> bool: ...

    async def version(self) -> dict[str, Any]: ...


if TYPE_CHECKING:

    def _conforms(kube: Kube) -> KubeAPI:
        return kube  # mypy: the real client is a KubeAPI


__all__ = ["KubeAPI"]
