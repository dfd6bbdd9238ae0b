"""HTTP to one API server: the connections, the count of requests, and failures as KubeError.

Everything that knows httpx lives here, so the client above speaks in paths,
verbs and bodies, and an httpx exception can never leak out of the package:
a transport failure becomes :class:`~gitward.kube.errors.Unavailable`, an
error status the :class:`~gitward.kube.errors.KubeError` its ``Status`` maps to.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from gitward.kube.errors import Unavailable, from_status
from gitward.kube.kubeconfig import KubeConfig

_WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

Headers = Sequence[tuple[str, str]]


@dataclass
class RequestStats:
    """Requests sent, by verb (``get``, ``list``, ``watch``, ``patch``, ``patch-dry-run`` …)."""

    by_verb: Counter[str] = field(default_factory=Counter)

    @property
    def writes(self) -> int:
        """Requests that could change state; dry-runs are not writes."""
        return sum(n for verb, n in self.by_verb.items() if verb in _WRITE_VERBS)

    @property
    def total(self) -> int:
        return sum(self.by_verb.values())

    def snapshot(self) -> dict[str, int]:
        return dict(self.by_verb)


class Transport:
    """The connections to one API server; every request is counted in :attr:`stats`."""

    def __init__(
        self,
        config: KubeConfig,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "gitward",
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": user_agent}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self.server = config.server
        self.stats = RequestStats()
        tls = config.ssl_context()
        self._http = httpx.AsyncClient(
            base_url=config.server,
            verify=tls,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            http2=True,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            transport=transport,
        )
        # Watches get HTTP/1.1 connections of their own: long-lived idle streams on
        # the shared HTTP/2 connection stall other requests in httpcore, and the
        # server caps streams per connection (100 here).
        self._watch_http = httpx.AsyncClient(
            base_url=config.server,
            verify=tls,
            headers=headers,
            http2=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._watch_http.aclose()

    async def request(
        self,
        verb: str,
        method: str,
        path: str,
        *,
        subject: str,
        headers: Headers = (),
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str | None = None,
    ) -> Any:
        """The decoded JSON answer (``None`` for an empty one), counted under ``verb``."""
        self.stats.by_verb[verb] += 1
        content = json.dumps(body).encode() if body is not None else None
        sent = httpx.Headers(headers)
        if content is not None:
            sent["Content-Type"] = content_type
        if accept:
            sent["Accept"] = accept
        try:
            resp = await self._http.request(
                method, path, params=params, content=content, headers=sent
            )
        except httpx.HTTPError as e:
            raise Unavailable(f"{subject}: API server {self.server} unreachable: {e}") from e
        if resp.status_code >= 400:
            try:
                payload = resp.json()
            except ValueError:
                payload = {"message": resp.text.strip()[:300]}
            raise from_status(resp.status_code, subject, payload)
        if not resp.content:
            return None
        return resp.json()

    @contextlib.asynccontextmanager
    async def lines(
        self,
        path: str,
        *,
        subject: str,
        params: Mapping[str, str],
        headers: Headers = (),
        timeout: float,
    ) -> AsyncIterator[AsyncIterator[str]]:
        """The lines of a streamed answer (a watch), counted as one ``watch``.

        A stream that breaks while it is read raises :class:`Unavailable` out of
        the ``async with`` block.
        """
        self.stats.by_verb["watch"] += 1
        try:
            async with self._watch_http.stream(
                "GET",
                path,
                params=params,
                headers=httpx.Headers(headers),
                timeout=httpx.Timeout(timeout, connect=10.0),
            ) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise from_status(resp.status_code, subject, resp.json())
                yield resp.aiter_lines()
        except httpx.HTTPError as e:
            raise Unavailable(f"{subject}: stream broke: {e}") from e

    async def ready(self) -> bool:
        """Whether the API server says it is ready (``/readyz``); ``False`` when unreachable."""
        self.stats.by_verb["get"] += 1
        try:
            resp = await self._http.get("/readyz", headers={"Accept": "text/plain"})
        except httpx.HTTPError:
            return False
        return resp.status_code == 200


__all__ = ["RequestStats", "Transport"]
