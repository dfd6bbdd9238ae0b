"""Live updates: server-sent events that tell an open page what changed.

The controller's memory is the truth, so the stream compares a fingerprint
of each app (its summary and its drift log) every ``INTERVAL`` seconds and
sends the names of the apps whose fingerprint moved. The page then fetches
the parts it shows again. An app's page also gets its drift log drawn in
the stream itself (``event: drifts``, before the change), so a drift
reaches the page without another request. Nothing is computed while no page is open, and the
controller needs no hook for the UI.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Collection, Hashable

from gitward.web.protocols import UiSource

__all__ = ["INTERVAL", "fingerprints", "stream"]

#: Well under the one second a change may take to reach the page: one app's
#: page compares one fingerprint, the list compares every app's, less often.
INTERVAL = 0.1
LIST_INTERVAL = 0.25
#: A comment line keeps proxies from closing an idle stream.
KEEPALIVE_SECONDS = 15.0


def _freeze(value: object) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value if isinstance(value, Hashable) else repr(value)


def fingerprints(source: UiSource, names: Collection[str]) -> dict[str, Hashable]:
    """What the page shows of each app in ``names``, reduced to something comparable."""
    known = set(source.app_names())
    out: dict[str, Hashable] = {}
    for name in names:
        if name in known:
            drifts = source.drift_records(name)
            out[name] = (_freeze(source.app_summary(name)), _freeze(list(drifts[:5])), len(drifts))
    return out


async def stream(
    source: UiSource,
    *,
    app: str = "",
    closing: Callable[[], bool] = lambda: False,
    interval: float | None = None,
    drifts_html: Callable[[str], str] | None = None,
) -> AsyncIterator[str]:
    """``event: change`` with the changed app names as JSON, for one app or for all.

    With ``drifts_html``, a change of ``app`` is preceded by ``event: drifts``
    carrying the HTML it returns for the app's drift log.
    """

    def names() -> Collection[str]:
        if source.unavailable():
            return ()
        return [app] if app else list(source.app_names())

    if interval is None:
        interval = INTERVAL if app else LIST_INTERVAL
    yield "retry: 1000\n\n"
    seen = fingerprints(source, names())
    idle = 0.0
    while not closing():
        await asyncio.sleep(interval)
        now = fingerprints(source, names())
        changed = sorted(n for n in set(now) | set(seen) if now.get(n) != seen.get(n))
        seen = now
        if changed:
            idle = 0.0
            if drifts_html is not None and app in changed:
                yield _event("drifts", drifts_html(app))
            yield f"event: change\ndata: {json.dumps(changed)}\n\n"
        else:
            idle += interval
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                yield ": keepalive\n\n"


def _event(name: str, text: str) -> str:
    """One server-sent event; each line of ``text`` a ``data:`` line (the browser rejoins them)."""
    lines = text.replace("\r", "").split("\n")
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"
