"""Requests to one API server: the count of them, JSON in and out, and failures as KubeError.

The client above speaks in paths, verbs and bodies; the bytes go over a
:class:`~gitward.kube._wire.Wire`, and no HTTP library's exception leaks out of
the package: a transport failure becomes :class:`~gitward.kube.errors.Unavailable`,
an error status the :class:`~gitward.kube.errors.KubeError` its ``Status`` maps to.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from gitward.kube._wire import AiohttpWire, Wire, WireDown
from gitward.kube.errors import Unavailable, from_status
from gitward.kube.kubeconfig import KubeConfig

if TYPE_CHECKING:
    import httpx

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
        self.server = config.server
        self.stats = RequestStats()
        self._headers = [("Accept", "application/json"), ("User-Agent", user_agent)]
        if config.token:
            self._headers.append(("Authorization", f"Bearer {config.token}"))
        self._wire: Wire
        if transport is None:
            self._wire = AiohttpWire(tls=config.ssl_context(), timeout=timeout)
        else:
            from gitward.kube._wire_httpx import HttpxWire

            self._wire = HttpxWire(transport, timeout=timeout)

    async def aclose(self) -> None:
        await self._wire.aclose()

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
        _, answer = await self.exchange(
            verb,
            method,
            path,
            subject=subject,
            headers=headers,
            params=params,
            body=body,
            content_type=content_type,
            accept=accept,
        )
        return answer

    async def exchange(
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
    ) -> tuple[int, Any]:
        """:meth:`request`, with the status code of a successful answer (201 Created …)."""
        self.stats.by_verb[verb] += 1
        content = json.dumps(body).encode() if body is not None else b""
        sent = self._headers if not accept else [h for h in self._headers if h[0] != "Accept"]
        sent = [*sent, *headers]
        if accept:
            sent.append(("Accept", accept))
        if body is not None:
            sent.append(("Content-Type", content_type))
        url = self.server + path + ("?" + urlencode(params) if params else "")
        try:
            status, data = await self._wire.send(method, url, sent, content)
        except WireDown as e:
            raise Unavailable(f"{subject}: API server {self.server} unreachable: {e}") from e
        if status >= 400:
            raise from_status(status, subject, _error_payload(data))
        if not data:
            return status, None
        try:
            return status, json.loads(data)
        except ValueError as e:
            raise Unavailable(f"{subject}: API server {self.server} answered no JSON") from e

    @contextlib.asynccontextmanager
    async def lines(
        self,
        path: str,
        *,
        subject: str,
        params: Mapping[str, str],
        headers: Headers = (),
        timeout: float,
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """The lines of a streamed answer (a watch), counted as one ``watch``.

        A stream that breaks while it is read raises :class:`Unavailable` out of
        the ``async with`` block.
        """
        self.stats.by_verb["watch"] += 1
        url = self.server + path + ("?" + urlencode(params) if params else "")
        try:
            async with self._wire.stream(
                url, [*self._headers, *headers], timeout=timeout
            ) as stream:
                if stream.status >= 400:
                    raise from_status(stream.status, subject, _error_payload(await stream.read()))
                yield stream.lines()
        except WireDown as e:
            raise Unavailable(f"{subject}: stream broke: {e}") from e

    async def ready(self) -> bool:
        """Whether the API server says it is ready (``/readyz``); ``False`` when unreachable."""
        self.stats.by_verb["get"] += 1
        headers = [h for h in self._headers if h[0] != "Accept"]
        try:
            status, _ = await self._wire.send(
                "GET", self.server + "/readyz", [*headers, ("Accept", "text/plain")], b""
            )
        except WireDown:
            return False
        return status == 200


def _error_payload(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return {"message": data.decode(errors="replace").strip()[:300]}


__all__ = ["RequestStats", "Transport"]
