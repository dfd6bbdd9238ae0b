"""A result kept per object, for as long as its body is the same body object.

The controller replaces a body when it changes (a watch event, a new
render), never edits it, so what was computed from one body (its health,
say) holds as long as that very object is the one shown. One entry per
object (by ``metadata.uid``): a new body replaces the old entry, so old
bodies are not kept alive. Bounded: past ``max_entries`` objects, the least
recently used is forgotten.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from gitward.objects import Body

__all__ = ["ByBody"]

T = TypeVar("T")


class ByBody(Generic[T]):
    def __init__(self, fn: Callable[[Body | None], T], *, max_entries: int = 20_000) -> None:
        self._fn = fn
        self._max = max_entries
        self._kept: OrderedDict[str, tuple[Body, T]] = OrderedDict()

    def __call__(self, body: Body | None) -> T:
        uid = str(((body or {}).get("metadata") or {}).get("uid") or "")
        if body is None or not uid:
            return self._fn(body)
        kept = self._kept.get(uid)
        if kept is not None and kept[0] is body:
            self._kept.move_to_end(uid)
            return kept[1]
        value = self._fn(body)
        self._kept[uid] = (body, value)
        self._kept.move_to_end(uid)
        while len(self._kept) > self._max:
            self._kept.popitem(last=False)
        return value
